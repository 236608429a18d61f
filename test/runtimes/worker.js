// workerd entry for the fingerprint (bundled by the test with esbuild).
import * as lib from "../../dist/workerd.js";
import { fingerprint } from "./probe.js";

export default {
  async fetch() {
    return new Response(JSON.stringify(await fingerprint(lib, 7)), { headers: { "content-type": "application/json" } });
  },
};
