// diffusers' scheduler classes by name: createScheduler(className, config) and
// schedulerFromJson(text). Each family module registers its classes; this file only joins them.

import { ArgumentError } from "../../validate.ts";
import { parseConfigJson } from "./config.ts";
import { FLOW_SCHEDULERS } from "./flow.ts";
import { HIGHORDER_SCHEDULERS } from "./highorder.ts";
import { KARRAS_SCHEDULERS } from "./karras.ts";
import { MULTISTEP_SCHEDULERS } from "./multistep.ts";
import type { Scheduler, SchedulerFactory } from "./types.ts";
import { VP_SCHEDULERS } from "./vp.ts";

export type { Scheduler, SetTimestepsOptions, StepOptions, StepResult, Shape } from "./types.ts";

const REGISTRY: Readonly<Record<string, SchedulerFactory>> = {
  ...VP_SCHEDULERS,
  ...KARRAS_SCHEDULERS,
  ...MULTISTEP_SCHEDULERS,
  ...HIGHORDER_SCHEDULERS,
  ...FLOW_SCHEDULERS,
};

/** The diffusers scheduler classes implemented here. */
export function schedulerClasses(): string[] {
  return Object.keys(REGISTRY).sort();
}

/** A diffusers scheduler by class name, e.g. createScheduler("DDIMScheduler", { beta_schedule: "scaled_linear" }). */
export function createScheduler(className: string, config: Record<string, unknown> = {}): Scheduler {
  const make = typeof className === "string" ? REGISTRY[className] : undefined;
  if (!make) {
    throw new ArgumentError("className", `must be a diffusers scheduler class we implement (${schedulerClasses().join(", ")}), got ${JSON.stringify(className)}`);
  }
  return make(config);
}

/** A scheduler from the text of a scheduler_config.json (its `_class_name` picks the class). */
export function schedulerFromJson(text: string): Scheduler {
  const config = parseConfigJson(text);
  const cls = config._class_name;
  if (typeof cls !== "string") throw new ArgumentError("_class_name", "is missing: a scheduler_config.json names its class in _class_name");
  return createScheduler(cls, config);
}
