/** Every parity runner, one per fixture family. Add a family's runner here. */
import type { ParityRunner } from "./harness.js";
import { diffusersRunner } from "./runners/diffusers.js";
import { guidanceRunner } from "./runners/guidance.js";
import { hifiganRunner } from "./runners/hifigan.js";
import { imagebindRunner } from "./runners/imagebind.js";
import { imagebindChainRunner } from "./runners/imagebind_chain.js";
import {
  clipTokenizerRunner,
  ddimRunner,
  fbankRunner,
  prepVideoRunner,
  robertaTokenizerRunner,
} from "./runners/preprocess.js";
import { textEncoderRunner } from "./runners/text_encoders.js";

export const runners: readonly ParityRunner[] = [
  imagebindRunner,
  hifiganRunner,
  diffusersRunner,
  textEncoderRunner,
  guidanceRunner,
  imagebindChainRunner,
  fbankRunner,
  prepVideoRunner,
  clipTokenizerRunner,
  robertaTokenizerRunner,
  ddimRunner,
];

export function runnerFor(fixture: string): ParityRunner | undefined {
  return runners.find((r) => r.supports(fixture));
}
