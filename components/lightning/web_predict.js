// The Lightning bundle's predictor (loaded by the page of `export-web`): the champion's
// ONNX network under ONNX Runtime Web (wasm), and its preprocessing, which ONNX does not
// hold, applied here from preprocessing.json as models/lightning/features.py applies it:
// a missing number takes the train mean, then z-score; one-hot over the vocabulary, a
// missing category its own slot, an unknown one no slot at all.
export async function load(base, meta) {
  // An absolute URL (a relative one fails), one thread (a plain static server sends no
  // cross-origin isolation headers, which threads need).
  ort.env.wasm.wasmPaths = base;
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(base + 'model.onnx', {
    executionProviders: ['wasm'],
  });
  const pre = await (await fetch(base + 'preprocessing.json')).json();
  const numeric = Object.entries(pre.numeric);
  const categorical = Object.entries(pre.categorical);
  const width = numeric.length + categorical.reduce((n, [, vocab]) => n + vocab.length, 0);
  const absent = (v) => v === null || v === undefined;
  return {
    async predict(rows) {
      const x = new Float32Array(rows.length * width);
      rows.forEach((row, i) => {
        let at = i * width;
        for (const [name, s] of numeric) {
          const v = absent(row[name]) || row[name] === '' ? NaN : Number(row[name]);
          x[at++] = ((Number.isNaN(v) ? s.mean : v) - s.mean) / s.std;
        }
        for (const [name, vocab] of categorical) {
          const slot = vocab.indexOf(absent(row[name]) ? meta.missing : String(row[name]));
          if (slot >= 0) x[at + slot] = 1;
          at += vocab.length;
        }
      });
      const tensor = new ort.Tensor('float32', x, [rows.length, width]);
      const output = (await session.run({ features: tensor })).probabilities.data;
      const k = output.length / rows.length;
      return rows.map((_, i) => Array.from(output.slice(i * k, (i + 1) * k)));
    },
  };
}
