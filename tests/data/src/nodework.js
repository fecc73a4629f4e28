// A Node.js script without sockets (tests/data/make_phases.sh): twenty 1 MiB buffers and a line
// on stdout. Its phases: the loader's, the runtime's set-up (runtime-init, threads) and, from
// the open of this file, its own work (main).
const buffers = [];
for (let i = 0; i < 20; i++) buffers.push(Buffer.alloc(1 << 20, i));
console.log(buffers.length);
