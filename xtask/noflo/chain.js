// NoFlo baseline for `cargo xtask bench`: N packets through a chain of S core/Repeat
// components, timed from the first send to the last packet out. Prints one JSON line:
// {"stages": S, "packets": N, "seconds": T, "msgs_per_sec": R}. Usage: node chain.js S N
const noflo = require('noflo');
const path = require('path');

const stages = Number(process.argv[2] || 10);
const packets = Number(process.argv[3] || 100000);

async function main() {
  const graph = new noflo.Graph('chain');
  for (let i = 0; i < stages; i += 1) {
    graph.addNode(`r${i}`, 'core/Repeat');
    if (i > 0) graph.addEdge(`r${i - 1}`, 'out', `r${i}`, 'in');
  }
  const network = await noflo.createNetwork(graph, { baseDir: __dirname, delay: true });
  await network.connect();
  await network.start();
  const input = noflo.internalSocket.createSocket();
  const output = noflo.internalSocket.createSocket();
  network.processes.r0.component.inPorts.in.attach(input);
  network.processes[`r${stages - 1}`].component.outPorts.out.attach(output);
  let received = 0;
  const done = new Promise((resolve) => {
    output.on('ip', (ip) => {
      if (ip.type === 'data') {
        received += 1;
        if (received === packets) resolve();
      }
    });
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < packets; i += 1) input.send(i);
  await done;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ stages, packets, seconds, msgs_per_sec: packets / seconds }));
  await network.stop();
}

main().catch((e) => { console.error(e); process.exit(1); });
