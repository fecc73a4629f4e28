"""The address-space model: the kernel's rules for one mm (addrspace), replaying events into one
space per mm with a timeline of totals (replay), what each mapping is for (roles), and
/proc/PID/maps, smaps and vmmap snapshots (kernelmaps)."""
