// PNG encoding through fast-png (pure JS over fflate): it runs unchanged in Node, Deno, Bun, Workers
// and browsers, which a Node-zlib-based encoder would not.
import { encode } from "fast-png";
import type { Image8 } from "./grid.ts";

export function encodePng(img: Image8): Uint8Array {
  return encode({ width: img.width, height: img.height, data: img.data, channels: img.channels, depth: 8 });
}
