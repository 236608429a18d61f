// Flow matching (rectified flow) and score-SDE VE schedulers: FlowMatchEulerDiscrete (flow-euler.ts),
// FlowMatchHeunDiscrete (flow-heun.ts) and ScoreSdeVe (score-sde-ve.ts).

import { FlowMatchEulerDiscreteScheduler } from "./flow-euler.ts";
import { FlowMatchHeunDiscreteScheduler } from "./flow-heun.ts";
import { ScoreSdeVeScheduler } from "./score-sde-ve.ts";
import type { SchedulerFactory } from "./types.ts";

export { FlowMatchEulerDiscreteScheduler, FlowMatchHeunDiscreteScheduler, ScoreSdeVeScheduler };
export { calculateShift } from "./flow-sigmas.ts";

export const FLOW_SCHEDULERS: Record<string, SchedulerFactory> = {
  FlowMatchEulerDiscreteScheduler: (c) => new FlowMatchEulerDiscreteScheduler(c),
  FlowMatchHeunDiscreteScheduler: (c) => new FlowMatchHeunDiscreteScheduler(c),
  ScoreSdeVeScheduler: (c) => new ScoreSdeVeScheduler(c),
};
