#!/usr/bin/env node
// The dmsetup-ts command (package.json's bin; the shims and the conformance
// runner run it too): the one-file CLI cli.cjs (bundle.ts) when it is built,
// else tsc's main.js, which is the same program loaded module by module.

import fs = require('node:fs');
import path = require('node:path');

if (fs.existsSync(path.join(__dirname, 'cli.cjs'))) require('./cli.cjs');
else void import('./main.js');
