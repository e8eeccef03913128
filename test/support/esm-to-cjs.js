// Jest runs CommonJS; @secretlint/secretlint-rule-preset-recommend ships ES modules only. esbuild
// (already used for the build) turns such a dependency into CommonJS for the test run.
const { transformSync } = require('esbuild');

module.exports = {
  process(source, filename) {
    const { code, map } = transformSync(source, { format: 'cjs', target: 'node20', sourcefile: filename, sourcemap: true, loader: 'js' });
    return { code, map };
  },
};
