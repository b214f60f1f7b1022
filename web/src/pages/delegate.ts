// Staking and delegation: stNEURO is the Governor's voting token, and votes count only once delegated — to
// oneself or to someone else. A wallet is needed for everything on this page.
import { type Address, isAddress, parseUnits } from "viem";
import { get, getDeployment } from "../api";
import { ABIS } from "../contracts";
import { neuro } from "../format";
import { html } from "../html";
import { indexed, onClick, refresh, render, section } from "../ui";
import { current, read, write } from "../wallet";

const ZERO = "0x0000000000000000000000000000000000000000";

export async function delegatePage(main: HTMLElement): Promise<void> {
  const wallet = current();
  if (!wallet) {
    render(
      main,
      html`<h1>Stake and delegate</h1>
        <p>Staked NEURO (stNEURO) carries the votes of the DAO. A vote counts only once its holder delegates it — to
          itself or to a representative. Connect a wallet to stake and delegate.</p>`,
    );
    return;
  }
  const { contracts } = await getDeployment();
  const staking = contracts.StakingVault;
  const token = contracts.NeuroToken;
  const me = wallet.account;
  const [balance, staked, votes, delegatee, allowance] = await Promise.all([
    read<bigint>(token, ABIS.NeuroToken, "balanceOf", [me]),
    read<bigint>(staking, ABIS.StakingVault, "balanceOf", [me]),
    read<bigint>(staking, ABIS.StakingVault, "getVotes", [me]),
    read<Address>(staking, ABIS.StakingVault, "delegates", [me]),
    read<bigint>(token, ABIS.NeuroToken, "allowance", [me, staking]),
  ]);
  const delegated = delegatee === ZERO ? "nobody (your stake does not vote yet)" : delegatee.toLowerCase() === me.toLowerCase() ? "yourself" : delegatee;
  render(
    main,
    html`<h1>Stake and delegate</h1>
      <div class="result"></div>
      <dl class="cards">
        <div><dt>NEURO in the wallet</dt><dd data-testid="balance">${neuro(balance)}</dd></div>
        <div><dt>Staked (stNEURO)</dt><dd data-testid="staked">${neuro(staked)}</dd></div>
        <div><dt>Votes delegated to you</dt><dd data-testid="votes">${neuro(votes)}</dd></div>
        <div><dt>Your stake votes through</dt><dd data-testid="delegatee" class="mono">${delegated}</dd></div>
      </dl>
      ${section(
        "Stake",
        html`<p class="muted">Staking moves NEURO into the vault; unstaking waits out the unbonding period.</p>
          <label>Amount (NEURO) <input id="stake-amount" inputmode="decimal" placeholder="100" /></label>
          <button id="stake">Stake</button>`,
      )}
      ${section(
        "Delegate",
        html`<label>Delegate to <input id="delegatee" class="mono" placeholder="0x…" size="44" /></label>
          <div class="buttons"><button id="delegate">Delegate</button>
          <button id="delegate-self" class="secondary">Delegate to myself</button></div>
          <p class="muted small">Delegation applies from the next block: proposals whose snapshot is already past
            count your votes as they were then.</p>`,
      )}`,
  );
  const settle = async (block: bigint, what: string) => {
    await indexed(block, get);
    await refresh();
    return what;
  };
  onClick(main, "#stake", async () => {
    const text = main.querySelector<HTMLInputElement>("#stake-amount")?.value.trim() ?? "";
    let amount: bigint;
    try {
      amount = parseUnits(text, 18);
    } catch {
      throw new Error(`"${text}" is not an amount of NEURO`);
    }
    if (amount <= 0n) throw new Error("Enter an amount above zero.");
    if (amount > balance) throw new Error(`You hold ${neuro(balance)} NEURO.`);
    if (allowance < amount) await write(token, ABIS.NeuroToken, "approve", [staking, amount]);
    const sent = await write(staking, ABIS.StakingVault, "stake", [amount]);
    return settle(sent.block, `Staked ${neuro(amount)} NEURO.`);
  });
  onClick(main, "#delegate", async () => {
    const to = main.querySelector<HTMLInputElement>("#delegatee")?.value.trim() ?? "";
    if (!isAddress(to)) throw new Error(`"${to}" is not an address.`);
    const sent = await write(staking, ABIS.StakingVault, "delegate", [to]);
    return settle(sent.block, `Votes delegated to ${to}.`);
  });
  onClick(main, "#delegate-self", async () => {
    const sent = await write(staking, ABIS.StakingVault, "delegate", [me]);
    return settle(sent.block, "Votes delegated to yourself.");
  });
}
