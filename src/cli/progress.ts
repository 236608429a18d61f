// Progress for long work: a cli-progress bar on a terminal (a well-kept library; a hand-made bar would
// get terminal widths, redraws and ETA smoothing wrong), plain periodic lines otherwise (CI logs, pipes).
import cliProgress from "cli-progress";

export interface ProgressReporter {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export function progress(label: string, total: number, fieldsFormat = ""): ProgressReporter {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} {percentage}% | ETA {eta_formatted}${fieldsFormat ? ` | ${fieldsFormat}` : ""}`, stream: process.stderr, hideCursor: true, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (d, f) => bar.update(d, f), stop: () => bar.stop() };
  }
  let last = -1;
  const t0 = performance.now();
  return {
    update(done, fields) {
      const pct = Math.floor((100 * done) / total);
      if (pct >= last + 10 || done === total) {
        last = pct;
        const el = (performance.now() - t0) / 1000;
        const eta = done > 0 ? (el * (total - done)) / done : 0;
        const extra = fields ? " " + Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(" ") : "";
        process.stderr.write(`${label} ${done}/${total} (${pct}%) ${el.toFixed(1)} s, ETA ${eta.toFixed(0)} s${extra}\n`);
      }
    },
    stop() {},
  };
}
