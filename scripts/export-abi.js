#!/usr/bin/env node
// Writes protocol/abi/<Contract>.json (the ABI only) from forge's artifacts in out/.
// `--check` fails if a checked-in ABI differs from the freshly built one (CI runs it).
"use strict";
const fs = require("fs");
const path = require("path");

const CONTRACTS = [
  "NeuroToken",
  "Emissions",
  "StakingVault",
  "NeuroGovernor",
  "NeuroTimelock",
  "NeuroVestingWallet",
  "ModelRegistry",
  "NodeRegistry",
  "Payments",
  "FeeVault",
  "UsageLedger",
  "Disputes",
  "UsageVerifier64",
];
const root = path.resolve(__dirname, "..");
const check = process.argv.includes("--check");
let stale = [];

for (const name of CONTRACTS) {
  const artifact = path.join(root, "out", `${name}.sol`, `${name}.json`);
  if (!fs.existsSync(artifact)) {
    console.error(`missing ${path.relative(root, artifact)}: run forge build first`);
    process.exitCode = 1;
    return;
  }
  const abi = JSON.parse(fs.readFileSync(artifact, "utf8")).abi;
  const text = JSON.stringify(abi, null, 2) + "\n";
  const target = path.join(root, "protocol", "abi", `${name}.json`);
  if (check) {
    if (!fs.existsSync(target) || fs.readFileSync(target, "utf8") !== text) stale.push(path.relative(root, target));
  } else {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text);
  }
}
if (stale.length > 0) {
  console.error(`stale ABI files (run node scripts/export-abi.js): ${stale.join(", ")}`);
  process.exitCode = 1;
} else {
  console.log(check ? "ABI files are up to date" : `wrote ${CONTRACTS.length} ABI files to protocol/abi/`);
}
