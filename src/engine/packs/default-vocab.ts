/**
 * The default pack's RoBERTa-style tokenizer files, generated here because the real RoBERTa / CLAP vocabulary
 * (50 265 tokens, `laion/clap-htsat-unfused`) cannot be downloaded in this environment and is too large for
 * the bundled pack anyway. It is a genuine byte-level BPE in the GPT-2 format (`vocab.json` + `merges.txt`,
 * read by `RobertaTokenizer`): the 256 byte symbols, merges learned greedily from the small caption corpus
 * below, and RoBERTa's special tokens at RoBERTa's ids (`<s>` 0, `<pad>` 1, `</s>` 2, `<unk>` 3, `<mask>` last).
 * Any text still tokenizes (every byte is a symbol). Training is deterministic: pair counts are integers and
 * ties break by the pair's string order. A real pack ships the real files (convert.ts copies them).
 */
import { byteEncode, bytesToUnicode } from "../preprocess/tokenizers/bpe.js";

/** Caption-like sentences for sounds and scenes (the studio's domain). */
export const DEFAULT_VOCAB_CORPUS = `
a dog barking in the distance while cars pass by on a wet street
rain falling on a tin roof with thunder rumbling far away
a man speaking softly into a microphone in a quiet room
a woman laughing and children playing in a park
birds chirping in the morning as wind rustles through the trees
an engine starting and a car driving away on gravel
waves crashing on a rocky beach with seagulls calling
a train passing over a bridge with its horn blowing
footsteps on a wooden floor and a door creaking open
a crowd cheering loudly at a football stadium
a piano playing a slow melody in a concert hall
an acoustic guitar strummed by a street musician
a drum beat with bass and electronic synthesizer music
water running from a tap into a metal sink
a cat meowing and purring next to a fireplace crackling
people talking in a busy restaurant with dishes clinking
a helicopter flying overhead and a siren wailing
a baby crying while a lullaby plays from a music box
a clock ticking and a kettle whistling in the kitchen
a violin and cello playing together in an orchestra
a horse galloping across a field and neighing
leaves crunching under boots on a forest trail in autumn
a motorcycle revving its engine at a traffic light
an airplane taking off from a runway with jet noise
a keyboard typing and a mouse clicking in an office
a fire alarm beeping and people walking out of a building
frogs croaking near a pond at night with crickets
a bell ringing in a church tower on a sunday morning
ice cubes dropped into a glass and a drink poured
a chainsaw cutting wood and a tree falling to the ground
a video of a dog running on the beach at sunset
a person playing the trumpet on a stage under bright lights
a city street at night with neon signs and light traffic
snow falling slowly on a mountain village in winter
a boat sailing on a calm lake with birds flying above
`;

const SPECIALS_HEAD = ["<s>", "<pad>", "</s>", "<unk>"] as const;
const MASK = "<mask>";

/** GPT-2 pre-tokenisation (letters, digits or other runs, each with an optional leading space). */
const PRETOKEN = / ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+/gu;

export interface GeneratedVocab {
  vocabJson: string;
  mergesTxt: string;
  vocabSize: number;
}

/** Train `numMerges` merges (fewer if the corpus runs out of repeated pairs). */
export function generateRobertaVocab(numMerges = 700, corpus = DEFAULT_VOCAB_CORPUS): GeneratedVocab {
  const counts = new Map<string, number>();
  for (const m of corpus.replace(/\s+/g, " ").trim().matchAll(PRETOKEN)) {
    const w = byteEncode(m[0]);
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const words = [...counts]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([w, n]) => ({ sym: [...w], n }));
  const merges: [string, string][] = [];
  for (let step = 0; step < numMerges; step++) {
    const pairs = new Map<string, number>();
    for (const { sym, n } of words)
      for (let i = 0; i + 1 < sym.length; i++) {
        const k = `${sym[i]} ${sym[i + 1]}`;
        pairs.set(k, (pairs.get(k) ?? 0) + n);
      }
    let best: string | null = null;
    let bestN = 1;
    for (const [k, n] of pairs)
      if (n > bestN || (n === bestN && best !== null && k < best)) [best, bestN] = [k, n];
    if (best === null) break;
    const [a, b] = best.split(" ");
    merges.push([a, b]);
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.sym.length; i++) {
        if (i + 1 < w.sym.length && w.sym[i] === a && w.sym[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(w.sym[i]);
      }
      w.sym = out;
    }
  }
  const tokens = [...SPECIALS_HEAD, ...bytesToUnicode(), ...merges.map(([a, b]) => a + b)];
  const vocab: Record<string, number> = {};
  for (const t of tokens) if (!Object.hasOwn(vocab, t)) vocab[t] = Object.keys(vocab).length;
  vocab[MASK] = Object.keys(vocab).length;
  return {
    vocabJson: `${JSON.stringify(vocab)}\n`,
    mergesTxt: `#version: 0.2\n${merges.map(([a, b]) => `${a} ${b}`).join("\n")}\n`,
    vocabSize: Object.keys(vocab).length,
  };
}
