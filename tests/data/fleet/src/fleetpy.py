"""fleetpy: a small Python start-up for the fleet corpus (tests/data/fleet/make_fleet.sh).

    python3 fleetpy.py BASE_MIB

Opens a UDP socket (the "main" phase's evidence), allocates and touches BASE_MIB in a
bytearray, and, when FLEET_EXTRA=MIB is set, MIB more (the deliberate outliers)."""
import os
import socket
import sys

base = int(sys.argv[1]) if len(sys.argv) > 1 else 4
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
keep = [bytearray(base << 20)]
extra = os.environ.get("FLEET_EXTRA")
if extra:
    keep.append(bytearray(int(extra) << 20))
print(sum(len(b) for b in keep), flush=True)
os._exit(0)  # no teardown: the memory is still mapped at exit_group, as a service's would be
