// Proposal templates: the DAO's parameters with their setters and on-chain bounds, and the two other common
// actions (approving a model, paying from the treasury). Bounds are the contracts' own constants, read live, so the
// form shows what the contract will accept; cross-parameter rules (the fee split's minimum burn share, an epoch's
// submission window) are checked by simulating the call from the timelock before anything is proposed.

export type Unit = "bps" | "seconds" | "neuro";

export interface ParamInput {
  /** The setter's argument. */
  name: string;
  label: string;
  unit: Unit;
  /** Zero-argument view returning the current value. */
  getter: string;
  /** Zero-argument views (usually constants) bounding the value; absent: none. */
  min?: string;
  max?: string;
}

export interface Parameter {
  id: string;
  label: string;
  contract: string;
  setter: string;
  inputs: ParamInput[];
  /** What the contract checks beyond each value's bounds. */
  rule?: string;
}

export const PARAMETERS: Parameter[] = [
  {
    id: "fee-split",
    label: "Fee split (miner / treasury / burn)",
    contract: "Payments",
    setter: "setFeeSplit",
    inputs: [
      { name: "minerBps", label: "Miner share", unit: "bps", getter: "minerFeeBps", min: "MIN_MINER_FEE_BPS", max: "MAX_MINER_FEE_BPS" },
      { name: "treasuryBps", label: "Treasury share", unit: "bps", getter: "treasuryFeeBps", max: "MAX_TREASURY_FEE_BPS" },
    ],
    rule: "The rest is burned and must stay at least MIN_BURN_FEE_BPS (10%): rewards are capped by burned fees.",
  },
  {
    id: "withdrawal-delay",
    label: "User withdrawal delay",
    contract: "Payments",
    setter: "setWithdrawalDelay",
    inputs: [
      { name: "newDelay", label: "Delay", unit: "seconds", getter: "withdrawalDelay", min: "MIN_WITHDRAWAL_DELAY", max: "MAX_WITHDRAWAL_DELAY" },
    ],
  },
  {
    id: "miner-share",
    label: "Emission share of miners (the rest to model developers)",
    contract: "Emissions",
    setter: "setMinerShare",
    inputs: [
      { name: "newBps", label: "Miner share", unit: "bps", getter: "minerShareBps", min: "MIN_MINER_SHARE_BPS", max: "MAX_MINER_SHARE_BPS" },
    ],
  },
  {
    id: "submission-window",
    label: "Usage submission window after an epoch",
    contract: "Emissions",
    setter: "setSubmissionWindow",
    inputs: [
      { name: "newWindow", label: "Window", unit: "seconds", getter: "submissionWindow", min: "MIN_SUBMISSION_WINDOW", max: "epochLength" },
    ],
  },
  {
    id: "unbonding",
    label: "Stake unbonding period",
    contract: "StakingVault",
    setter: "setUnbondingPeriod",
    inputs: [
      { name: "newPeriod", label: "Period", unit: "seconds", getter: "unbondingPeriod", min: "MIN_UNBONDING_PERIOD", max: "MAX_UNBONDING_PERIOD" },
    ],
    rule: "It must outlast a slash proposal's voting delay, voting period and timelock delay.",
  },
  {
    id: "min-node-stake",
    label: "Minimum stake of a node",
    contract: "StakingVault",
    setter: "setMinNodeStake",
    inputs: [
      { name: "newStake", label: "Stake", unit: "neuro", getter: "minNodeStake", min: "MIN_NODE_STAKE_FLOOR", max: "MIN_NODE_STAKE_CEILING" },
    ],
  },
  {
    id: "min-validator-stake",
    label: "Minimum stake of a validator",
    contract: "Disputes",
    setter: "setMinValidatorStake",
    inputs: [
      { name: "value", label: "Stake", unit: "neuro", getter: "minValidatorStake", min: "MIN_VALIDATOR_STAKE_FLOOR", max: "MIN_VALIDATOR_STAKE_CEILING" },
    ],
  },
  {
    id: "dispute-periods",
    label: "Dispute voting period and validator unbonding",
    contract: "Disputes",
    setter: "setPeriods",
    inputs: [
      { name: "voting", label: "Voting period", unit: "seconds", getter: "votingPeriod", min: "MIN_VOTING_PERIOD", max: "MAX_VOTING_PERIOD" },
      { name: "unbonding", label: "Validator unbonding", unit: "seconds", getter: "validatorUnbonding", max: "MAX_VALIDATOR_UNBONDING" },
    ],
  },
  {
    id: "minimum-quorum",
    label: "Governor: absolute minimum quorum",
    contract: "NeuroGovernor",
    setter: "setMinimumQuorum",
    inputs: [
      { name: "newQuorum", label: "Quorum", unit: "neuro", getter: "minimumQuorum", min: "MIN_MINIMUM_QUORUM", max: "MAX_MINIMUM_QUORUM" },
    ],
  },
  {
    id: "voting-period",
    label: "Governor: voting period",
    contract: "NeuroGovernor",
    setter: "setVotingPeriod",
    inputs: [
      { name: "newVotingPeriod", label: "Period", unit: "seconds", getter: "votingPeriod", min: "MIN_VOTING_PERIOD", max: "MAX_VOTING_PERIOD" },
    ],
  },
];
