// npm run bench: every benchmark in turn (each compares against its peers in the same run).
import { execSync } from "node:child_process";
for (const script of ["bench:kernels", "bench:size", "bench:parallel", "bench:samplers"]) {
  console.log(`\n=== npm run ${script} ===`);
  execSync(`npm run --silent ${script}`, { stdio: "inherit" });
}
