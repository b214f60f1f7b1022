#!/usr/bin/env node
// Asserts the devnet's economy from the indexer's API, to the wei (used by `scripts/devnet.sh --e2e`):
//   node scripts/e2e-check.js <indexer-url> <epoch length> <Emissions.minerShareBps> <Payments.minerFeeBps>
//        <Payments.treasuryFeeBps> <FeeVault.pendingBurn> <validators' share (Emissions.validatorRewardsOf)>
//        [<cheating node> <Disputes.firstFaultSlashBps> <Disputes.finderBps> <StakingVault.slashBurnBps>]
// - every epoch up to the last finalized one was finalized exactly once;
// - each epoch's emission is the schedule's (per second, so it depends on the epoch length), split into the
//   miner, validator and model pools by the shares;
// - every miner and model claim equals min(emission x split x its share of the epoch's burned fees,
//   rate x burned fees behind the work)
//   (floors as in Emissions), and its `forgone` is the rest of the share; likewise every validator claim, by
//   the burned probe fees revealed in the epoch;
// - all emission minted is at most 90% of the fees burned (no reward without fees);
// - every redemption's burn is its amount minus the miner and treasury shares, and the fee vault burned exactly
//   the burn shares redeemed (minus what is still pending);
// - the governance proposal was executed; at least one epoch had work and was claimed;
// - with a cheating node: exactly one dispute, against it, upheld; its slash is the first-fault share of its
//   stake, of which the challenger got the finder's share and the rest was burned and sent to the treasury by
//   the slash burn share, to the wei; its reward for the disputed epoch was forfeited.
'use strict';

const [base, epochLength, minerShareBps, minerFeeBps, treasuryFeeBps, pendingBurn, validatorShareBps,
  cheater, firstFaultSlashBps, finderBps, slashBurnBps] = process.argv.slice(2);
if (validatorShareBps === undefined) {
  console.error('usage: e2e-check.js <indexer-url> <epoch length> <minerShareBps> <minerFeeBps> <treasuryFeeBps> ' +
    '<pendingBurn> <validatorShareBps>');
  process.exit(2);
}
// Emissions.sol: INITIAL_EMISSION_PER_SECOND over eras of 4 x 365 days, halving every era.
const ERA = 4n * 365n * 86400n;
const RATE = (200000000n * 10n ** 18n) / ERA;
const scheduledAt = (elapsed) => {
  const era = elapsed / ERA;
  let total = 0n;
  for (let k = 0n; k < era && k < 61n; k++) total += (RATE >> k) * ERA;
  if (era < 61n) total += (RATE >> era) * (elapsed % ERA);
  return total;
};
const emissionFor = (epoch) =>
  scheduledAt((BigInt(epoch) + 1n) * BigInt(epochLength)) - scheduledAt(BigInt(epoch) * BigInt(epochLength));
const min = (a, b) => (a < b ? a : b);

async function events(contract, name) {
  const out = [];
  let cursor = '';
  for (;;) {
    const res = await fetch(`${base}/v1/events?contract=${contract}&name=${name}&limit=500${cursor}`);
    if (!res.ok) throw new Error(`GET events ${contract}.${name}: HTTP ${res.status}`);
    const page = await res.json();
    out.push(...page.data);
    if (!page.next) return out;
    cursor = `&cursor=${page.next}`;
  }
}

const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

(async () => {
  const finalized = await events('Emissions', 'EpochFinalized');
  const work = await events('Emissions', 'WorkRecorded');
  const minerClaims = await events('Emissions', 'MinerRewardClaimed');
  const modelClaims = await events('Emissions', 'ModelRewardClaimed');
  const redeemed = await events('Payments', 'Redeemed');
  const validatorPools = await events('Emissions', 'ValidatorPoolFinalized');
  const validatorFees = await events('Emissions', 'ValidatorFeesRecorded');
  const validatorClaims = await events('Emissions', 'ValidatorRewardClaimed');
  const flushed = await events('FeeVault', 'FeesFlushed');

  const count = new Map();
  for (const e of finalized) count.set(e.args.epoch, (count.get(e.args.epoch) || 0) + 1);
  const last = Math.max(-1, ...[...count.keys()].map(Number));
  for (let epoch = 0; epoch <= last; epoch++) {
    check(count.get(String(epoch)) === 1, `epoch ${epoch} finalized ${count.get(String(epoch)) || 0} times`);
  }

  const burnedIn = (epoch) => work.filter((w) => w.args.epoch === epoch).reduce((sum, w) => sum + BigInt(w.args.burnedFees), 0n);
  const pools = new Map();
  const vPools = new Map(validatorPools.map((v) => [v.args.epoch, v]));
  for (const e of finalized) {
    const emission = emissionFor(e.args.epoch);
    const minerPool = (emission * BigInt(minerShareBps)) / 10000n;
    const validatorPool = (emission * BigInt(validatorShareBps)) / 10000n;
    const v = vPools.get(e.args.epoch);
    check(v !== undefined, `epoch ${e.args.epoch} has no validators' pool`);
    if (v) {
      const revealed = validatorFees.filter((f) => f.args.epoch === e.args.epoch)
        .reduce((sum, f) => sum + BigInt(f.args.burnedFees), 0n);
      check(BigInt(v.args.totalBurnedFees) === revealed, `epoch ${e.args.epoch} revealed probe fees`);
      check(BigInt(v.args.pool) + BigInt(v.args.forgone) === validatorPool, `epoch ${e.args.epoch} validators' pool`);
      check(revealed > 0n ? BigInt(v.args.forgone) === 0n : BigInt(v.args.pool) === 0n,
        `epoch ${e.args.epoch} validators' pool ${v.args.pool} with ${revealed} wei of probe fees revealed`);
    }
    const total = BigInt(e.args.totalWork);
    check(total === work.filter((w) => w.args.epoch === e.args.epoch).reduce((sum, w) => sum + BigInt(w.args.units), 0n),
      `epoch ${e.args.epoch} total work`);
    check(BigInt(e.args.emission) === emission, `epoch ${e.args.epoch} emission ${e.args.emission}, schedule ${emission}`);
    if (burnedIn(e.args.epoch) > 0n) {
      check(BigInt(e.args.minerPool) === minerPool, `epoch ${e.args.epoch} miner pool ${e.args.minerPool} != ${minerPool}`);
      check(BigInt(e.args.modelPool) === emission - minerPool - validatorPool, `epoch ${e.args.epoch} model pool`);
    } else {
      check(BigInt(e.args.forgone) === emission - validatorPool,
        `epoch ${e.args.epoch} without work forgone ${e.args.forgone}`);
    }
    pools.set(e.args.epoch, {
      minerPool, modelPool: emission - minerPool - validatorPool, total,
      minerRate: BigInt(e.args.minerRewardPerBurnBps), modelRate: BigInt(e.args.modelRewardPerBurnBps),
    });
  }
  const credited = (key, epoch, id, field) => work
    .filter((w) => w.args.epoch === epoch && w.args[key].toLowerCase() === id.toLowerCase())
    .reduce((sum, w) => sum + BigInt(w.args[field]), 0n);
  const checkClaim = (c, kind, key, id, pool, rate) => {
    // Pool shares follow burned fees (a claimant's part of the epoch's burn), capped at rate x its burned fees.
    const share = (pool * credited(key, c.args.epoch, id, 'burnedFees')) / burnedIn(c.args.epoch);
    const expected = min(share, (credited(key, c.args.epoch, id, 'burnedFees') * rate) / 10000n);
    check(BigInt(c.args.amount) === expected, `${kind} claim epoch ${c.args.epoch}: ${c.args.amount} != ${expected}`);
    check(BigInt(c.args.forgone) === share - expected, `${kind} claim epoch ${c.args.epoch}: forgone ${c.args.forgone}`);
    return BigInt(c.args.amount);
  };
  let minted = 0n;
  for (const c of minerClaims) {
    const p = pools.get(c.args.epoch);
    minted += checkClaim(c, 'miner', 'miner', c.args.miner, p.minerPool, p.minerRate);
  }
  for (const c of modelClaims) {
    const p = pools.get(c.args.epoch);
    minted += checkClaim(c, 'model', 'modelId', c.args.modelId, p.modelPool, p.modelRate);
  }

  for (const c of validatorClaims) {
    const v = vPools.get(c.args.epoch);
    const fees = validatorFees.filter((f) => f.args.epoch === c.args.epoch);
    const mine = fees.filter((f) => f.args.validator.toLowerCase() === c.args.validator.toLowerCase())
      .reduce((sum, f) => sum + BigInt(f.args.burnedFees), 0n);
    const all = fees.reduce((sum, f) => sum + BigInt(f.args.burnedFees), 0n);
    const share = all === 0n ? 0n : (BigInt(v.args.pool) * mine) / all;
    const expected = min(share, (mine * BigInt(v.args.rewardPerBurnBps)) / 10000n);
    check(BigInt(c.args.amount) === expected, `validator claim epoch ${c.args.epoch}: ${c.args.amount} != ${expected}`);
    check(BigInt(c.args.forgone) === share - expected, `validator claim epoch ${c.args.epoch}: forgone`);
    minted += BigInt(c.args.amount);
  }

  let burnShares = 0n;
  for (const r of redeemed) {
    const amount = BigInt(r.args.amount);
    const expected = amount - (amount * BigInt(minerFeeBps)) / 10000n - (amount * BigInt(treasuryFeeBps)) / 10000n;
    check(BigInt(r.args.burned) === expected, `redemption in tx ${r.transactionHash} burned ${r.args.burned} != ${expected}`);
    burnShares += BigInt(r.args.burned);
  }
  const burned = flushed.reduce((sum, f) => sum + BigInt(f.args.burned), 0n);
  check(burned + BigInt(pendingBurn) === burnShares, `fees burned ${burned} + pending ${pendingBurn} != burn shares ${burnShares}`);
  check(minted * 10000n <= burnShares * 9000n, `rewards ${minted} exceed 90% of the fees burned ${burnShares}`);
  check(minted > 0n, 'rewards were minted for the work');

  let slashNote = '';
  if (cheater) {
    const same = (a, b) => a.toLowerCase() === b.toLowerCase();
    const opened = await events('Disputes', 'DisputeOpened');
    const resolved = await events('Disputes', 'DisputeResolved');
    const slashes = await events('StakingVault', 'Slashed');
    const finders = await events('StakingVault', 'FinderPaid');
    const staked = (await events('StakingVault', 'Staked')).filter((e) => same(e.args.account, cheater))
      .reduce((sum, e) => sum + BigInt(e.args.amount), 0n);
    const releases = await events('Emissions', 'RewardHoldReleased');
    check(opened.length >= 1 && opened.every((d) => same(d.args.accused, cheater)),
      `disputes opened against ${opened.map((d) => d.args.accused)}, expected only the cheating node ${cheater}`);
    const first = opened.find((d) => d.args.id === '1');
    const upheld = resolved.find((r) => r.args.id === '1');
    check(first !== undefined && upheld !== undefined && upheld.args.status === '2', 'dispute 1 was upheld');
    if (first && upheld) {
      const expected = (staked * BigInt(firstFaultSlashBps)) / 10000n;
      const slash = slashes.find((e) => same(e.args.account, cheater));
      const finder = finders.find((e) => same(e.args.account, cheater));
      check(BigInt(upheld.args.slashed) === expected, `slashed ${upheld.args.slashed} != ${expected} (first fault of ${staked})`);
      check(slash !== undefined && finder !== undefined, 'the slash and the finder payment are on chain');
      if (slash && finder) {
        const taken = BigInt(slash.args.fromBonded) + BigInt(slash.args.fromUnbonding);
        const toFinder = (expected * BigInt(finderBps)) / 10000n;
        const burnedSlash = ((expected - toFinder) * BigInt(slashBurnBps)) / 10000n;
        check(taken === expected, `the vault took ${taken} != ${expected}`);
        check(same(finder.args.finder, first.args.challenger) && BigInt(finder.args.amount) === toFinder,
          `finder ${finder.args.finder} got ${finder.args.amount}, expected ${toFinder} to ${first.args.challenger}`);
        check(BigInt(slash.args.burned) === burnedSlash, `slash burned ${slash.args.burned} != ${burnedSlash}`);
        check(BigInt(slash.args.toTreasury) === expected - toFinder - burnedSlash, 'slash to the treasury');
        slashNote = `; the cheating node was slashed ${expected} wei (finder ${toFinder}, burned ${burnedSlash}, ` +
          `treasury ${expected - toFinder - burnedSlash})`;
      }
      check(releases.some((r) => same(r.args.miner, cheater) && r.args.epoch === first.args.epoch && r.args.forfeited === true),
        `the cheating node's reward of epoch ${first.args.epoch} was not forfeited`);
      // The disputes endpoint tells the same story as the raw events: outcome, slash, and ballots that add up.
      const served = await (await fetch(`${base}/v1/disputes/1`)).json();
      const d = served.data;
      check(d.status === 'Upheld' && same(d.accused, cheater) && same(d.challenger, first.args.challenger),
        `/v1/disputes/1 says ${d.status} against ${d.accused} by ${d.challenger}`);
      check(d.slashed === upheld.args.slashed && d.upholdWeight === upheld.args.upholdWeight &&
        d.rejectWeight === upheld.args.rejectWeight, '/v1/disputes/1 slash and tallies equal DisputeResolved');
      const ballots = (side) => d.ballots.filter((b) => b.uphold === side).reduce((sum, b) => sum + BigInt(b.weight), 0n);
      check(d.ballots.length >= 1 && ballots(true) === BigInt(d.upholdWeight) && ballots(false) === BigInt(d.rejectWeight),
        `/v1/disputes/1 ballots add up to its tallies (${d.ballots.length} ballots)`);
      check(d.resolved && d.resolved.transactionHash === upheld.transactionHash, 'the resolution links its transaction');
      const list = await (await fetch(`${base}/v1/disputes`)).json();
      check(list.data.length === opened.length && list.data.every((x) => same(x.accused, cheater)),
        `/v1/disputes lists ${list.data.length} disputes, the events ${opened.length}`);
    }
  }

  const proposals = await (await fetch(`${base}/v1/proposals`)).json();
  check(proposals.data.length === 1 && proposals.data[0].state === 'Executed', 'the governance proposal was executed');
  check(minerClaims.length > 0 && modelClaims.length > 0, 'an epoch with work was finalized and claimed');
  check(redeemed.length > 0 && flushed.length > 0, 'fees were redeemed and flushed');

  console.log(`e2e: ${last + 1} epochs finalized once each; ${minerClaims.length} miner and ${modelClaims.length} model ` +
    `claims, ${validatorClaims.length} validator claims equal min(burn-weighted schedule share, rate x burned fees) to the wei; ${minted} wei minted against ${burnShares} wei ` +
    `of fees burned; ${redeemed.length} redemptions${slashNote}`);
  if (failures.length) {
    for (const f of failures) console.error(`FAILED: ${f}`);
    process.exit(1);
  }
})().catch((e) => { console.error(e); process.exit(1); });
