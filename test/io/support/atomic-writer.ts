// Child process for the crash test: writes checkpoints of growing size to argv[2] in a loop with
// writeFileAtomic until killed. Checkpoint i holds params filled with i and meta {step: i}.
import { saveCheckpointFile } from "../../../src/node/files.ts";

const path = process.argv[2];
for (let i = 0; ; i++) {
  const n = 50_000 + (i % 7) * 20_000; // 200-560 KB: the kill often lands mid-write
  const data = new Float32Array(n).fill(i);
  saveCheckpointFile(path, {
    params: { "net.w": { shape: [n], data } },
    adam: { m: { "net.w": { shape: [n], data } }, v: { "net.w": { shape: [n], data } } },
    meta: { step: i },
  });
  if (i === 0) process.stdout.write("ready\n");
}
