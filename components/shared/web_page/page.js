// The page of `python -m pipelines export-web`: it loads every stack's bundle listed in
// <dataset>.json, predicts the dataset's eval rows in this page, and shows the
// predictions side by side. A bundle is a folder with bundle.json (the runtime scripts
// to load first) and predict.js, whose load(base, meta) resolves to {predict(rows)}:
// raw rows (null for a missing value) to class probabilities. The measurement reads
// window.webResults once window.webDone is set.
const root = new URL('.', location.href);
const dataset = new URLSearchParams(location.search).get('dataset');

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = url;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${url}`));
    document.head.appendChild(script);
  });
}

async function runBundle(bundle, rows) {
  const base = new URL(bundle.path + '/', root).href;
  const started = performance.now();
  const meta = await (await fetch(base + 'bundle.json')).json();
  for (const script of meta.scripts) await loadScript(base + script);
  const module = await import(base + 'predict.js');
  const model = await module.load(base, meta);
  const loadMs = performance.now() - started;
  let at = performance.now();
  await model.predict(rows.slice(0, 1));
  const firstRowMs = performance.now() - at;
  at = performance.now();
  const probabilities = await model.predict(rows);
  const batchMs = performance.now() - at;
  // One row: the mean over every row predicted alone, in sequence. Timed as one span: a
  // page's timer ticks in 0.1 ms, and a row can take less (its median read 0).
  at = performance.now();
  for (const row of rows) await model.predict([row]);
  const perRowMs = (performance.now() - at) / rows.length;
  return { loadMs, firstRowMs, batchMs, perRowMs, probabilities };
}

function argmax(values) {
  return values.reduce((best, v, i) => (v > values[best] ? i : best), 0);
}

function render(data, results) {
  const stacks = data.bundles.filter((b) => results[b.stack]);
  const summary = stacks.map((b) => {
    const r = results[b.stack];
    return `<tr><td style="color:${b.color}">${b.title}</td><td>${b.format}</td>` +
      `<td>${r.loadMs.toFixed(0)} ms</td><td>${r.perRowMs.toFixed(2)} ms</td>` +
      `<td>${r.batchMs.toFixed(1)} ms for ${data.rows.length} rows</td></tr>`;
  });
  document.getElementById('summary').innerHTML =
    '<table><tr><th>stack</th><th>format</th><th>load</th><th>one row (mean)</th>' +
    '<th>all rows at once</th></tr>' + summary.join('') + '</table>';
  const head = '<tr><th>#</th><th>label</th>' +
    stacks.map((b) => `<th style="color:${b.color}">${b.title}</th>`).join('') + '</tr>';
  const body = data.rows.map((row, i) => {
    const predicted = stacks.map((b) => {
      const p = results[b.stack].probabilities[i];
      const k = argmax(p);
      return { text: `${data.classes[k]} (${p[k].toFixed(3)})`, k };
    });
    const agree = predicted.every((p) => p.k === predicted[0].k);
    return `<tr><td>${i}</td><td>${data.labels[i]}</td>` + predicted.map((p) =>
      `<td class="${agree ? '' : 'disagree'}">${p.text}</td>`).join('') + '</tr>';
  });
  document.getElementById('rows').innerHTML = '<table>' + head + body.join('') + '</table>';
}

async function main() {
  const data = await (await fetch(new URL(`${dataset}.json`, root))).json();
  const results = {};
  const errors = {};
  for (const bundle of data.bundles) {
    try {
      results[bundle.stack] = await runBundle(bundle, data.rows);
    } catch (error) {
      errors[bundle.stack] = String(error && error.stack ? error.stack : error);
    }
  }
  render(data, results);
  const status = document.getElementById('status');
  status.textContent = Object.keys(errors).length
    ? `failed: ${Object.entries(errors).map(([s, e]) => `${s}: ${e}`).join('; ')}`
    : `predicted ${data.rows.length} eval rows of ${dataset} with ${Object.keys(results).length} model(s)`;
  if (Object.keys(errors).length) status.className = 'error';
  window.webResults = { results, errors };
  window.webDone = true;
}

main().catch((error) => {
  document.getElementById('status').textContent = `failed: ${error}`;
  window.webResults = { results: {}, errors: { page: String(error) } };
  window.webDone = true;
});
