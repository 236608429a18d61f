// VP-space schedulers stepping in diffusers' sample space: DDPM, DDIM (and inverse, parallel), PNDM,
// IPNDM, LCM, TCD. Each class lives in its own module; this file only registers them.

import { DDIMInverseScheduler, DDIMParallelScheduler, DDIMScheduler } from "./ddim.ts";
import { DDPMParallelScheduler, DDPMScheduler } from "./ddpm.ts";
import { IPNDMScheduler } from "./ipndm.ts";
import { LCMScheduler } from "./lcm.ts";
import { TCDScheduler } from "./tcd.ts";
import { PNDMScheduler } from "./pndm.ts";
import type { SchedulerFactory } from "./types.ts";

export { DDIMInverseScheduler, DDIMParallelScheduler, DDIMScheduler } from "./ddim.ts";
export { DDPMParallelScheduler, DDPMScheduler } from "./ddpm.ts";
export { PNDMScheduler } from "./pndm.ts";
export { IPNDMScheduler } from "./ipndm.ts";
export { LCMScheduler } from "./lcm.ts";
export { TCDScheduler } from "./tcd.ts";

export const VP_SCHEDULERS: Record<string, SchedulerFactory> = {
  DDPMScheduler: (c) => new DDPMScheduler(c),
  DDPMParallelScheduler: (c) => new DDPMParallelScheduler(c),
  DDIMScheduler: (c) => new DDIMScheduler(c),
  DDIMParallelScheduler: (c) => new DDIMParallelScheduler(c),
  DDIMInverseScheduler: (c) => new DDIMInverseScheduler(c),
  PNDMScheduler: (c) => new PNDMScheduler(c),
  IPNDMScheduler: (c) => new IPNDMScheduler(c),
  LCMScheduler: (c) => new LCMScheduler(c),
  TCDScheduler: (c) => new TCDScheduler(c),
};
