/**
 * Evaluation metrics (SPEC §6.2–6.3), pure TypeScript on typed arrays; no model or backend imports.
 * ImageBind scores take embeddings; AV-align takes decoded media; FD/KID/KL/ISc take classifier outputs.
 */
export {
  type AudioInput,
  AV_ALIGN_FIDELITY,
  type AvAlignFileResult,
  avAlignFile,
  avAlignScore,
  detectAudioPeaks,
  detectVideoPeaks,
  FlowTrajectory,
  findLocalMaxTimes,
  peaksIoU,
  type VideoInput,
} from "./av_align.js";
export {
  type BindEmbeddings,
  type BindScores,
  bindScores,
  cosine,
  meanEmbedding,
  type ScoreSummary,
  summarizeBindScores,
} from "./bind_scores.js";
export {
  frechetDistance,
  frechetDistanceGaussians,
  inceptionScore,
  type Kernel,
  type KidOptions,
  kernelDistance,
  kernelDistanceOf,
  meanKL,
  polyKernelGram,
  softmax,
} from "./distribution.js";
export {
  AV_ALIGN_FARNEBACK,
  calcOpticalFlowFarneback,
  FarnebackFrameCache,
  type FarnebackParams,
  farnebackFlow,
  meanFlowMagnitude,
} from "./farneback.js";
export { type ImageF32, type PixelOrder, toGray } from "./image.js";
export { type FeatureSet, meanCov } from "./linalg.js";
export {
  framesToTime,
  LIBROSA_ONSET_DEFAULTS,
  onsetDetect,
  onsetStrength,
  type PeakPickParams,
  peakPick,
} from "./onsets.js";
export { librosaLoad, resample } from "./resample.js";
export { bootstrapCI, SeededRng, type Summary, summarize } from "./stats.js";
