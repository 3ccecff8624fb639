// The TFX bundle's predictor (loaded by the page of `export-web`): the TF.js graph model
// of the table-free edge graph, which holds TFT's fitted preprocessing as constants, so
// raw rows go in as they are. Missing values go in as the SavedModel takes them: NaN for
// numbers, "" for text. The cpu backend: webgl never answers under --disable-gpu.
export async function load(base, meta) {
  await tf.setBackend('cpu');
  await tf.ready();
  const model = await tf.loadGraphModel(base + 'model.json');
  const absent = (v) => v === null || v === undefined;
  return {
    async predict(rows) {
      const inputs = {};
      for (const f of meta.features) {
        const values = rows.map((r) => r[f.name]);
        inputs[f.name] = f.numeric
          ? tf.tensor1d(values.map((v) => (absent(v) ? NaN : Number(v))), 'float32')
          : tf.tensor1d(values.map((v) => (absent(v) ? '' : String(v))), 'string');
      }
      const output = model.execute(inputs, meta.outputs.probabilities);
      const probabilities = await output.array();
      tf.dispose([output, ...Object.values(inputs)]);
      return probabilities;
    },
  };
}
