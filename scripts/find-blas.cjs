// Used by binding.gyp: finds OpenBLAS (Debian's libopenblas-dev) unless NREM_BLAS=none.
// `node scripts/find-blas.cjs defines|libraries|include` prints what node-gyp needs.
const fs = require('fs');
const what = process.argv[2];
const candidates = [
  { inc: '/usr/include/x86_64-linux-gnu/openblas-pthread', lib: '/usr/lib/x86_64-linux-gnu/libopenblas.so' },
  { inc: '/usr/include/aarch64-linux-gnu/openblas-pthread', lib: '/usr/lib/aarch64-linux-gnu/libopenblas.so' },
  { inc: '/usr/include/openblas', lib: '/usr/lib64/libopenblas.so' },
  { inc: '/usr/include', lib: '/usr/lib/libopenblas.so' },
];
const found = process.env.NREM_BLAS === 'none'
  ? null
  : candidates.find((c) => fs.existsSync(c.inc + '/cblas.h') && fs.existsSync(c.lib));
if (what === 'defines') console.log(found ? 'NREM_HAVE_OPENBLAS' : 'NREM_NO_OPENBLAS');
else if (what === 'libraries') console.log(found ? '-lopenblas' : '');
else if (what === 'include') console.log(found ? found.inc : '');
