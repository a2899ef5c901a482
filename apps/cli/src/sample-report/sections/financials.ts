import { type Block, heading, paragraph, type Section, table } from "../document.js";
import { round1 as round, type Segment, total as sum } from "../figures.js";
import { percent, textTable, thousands } from "../format.js";
import type { Prng } from "../prng.js";

const money = (value: number) => thousands(value, 1);

/**
 * `## N. Financial Statements` as text tables. Figures are internally consistent (lines
 * add up to their totals) so a model that checks the arithmetic finds it right.
 */
export function financialsSection(
  rng: Prng,
  number: number,
  segments: readonly Segment[],
): Section {
  const revenue = sum(segments.map((s) => s.current));
  const revenuePrior = sum(segments.map((s) => s.prior));
  const statement = (total: number) => {
    const costOfServices = round(total * rng.float(0.78, 0.82, 3));
    const gross = round(total - costOfServices);
    const admin = round(total * rng.float(0.06, 0.08, 3));
    const depreciation = round(total * rng.float(0.035, 0.045, 3));
    const operating = round(gross - admin - depreciation);
    const finance = round(total * rng.float(0.006, 0.012, 3));
    const beforeTax = round(operating - finance);
    const tax = round(beforeTax * rng.float(0.22, 0.27, 3));
    return [total, costOfServices, gross, admin, depreciation, operating, finance, beforeTax, tax]
      .map(round)
      .concat(round(beforeTax - tax));
  };
  const current = statement(revenue);
  const prior = statement(revenuePrior);
  const labels = [
    "Revenue",
    "Cost of services",
    "Gross profit",
    "Administrative expenses",
    "Depreciation and amortisation",
    "Operating profit",
    "Net finance costs",
    "Profit before tax",
    "Income tax",
    "Net profit",
  ];
  const quarterShares = [0.23, 0.24, 0.25, 0.28];
  const blocks: Block[] = [
    paragraph(
      "The statements below are a summary of the audited consolidated financial statements. All amounts are in millions of euros unless stated otherwise; figures in brackets are negative.",
    ),
    heading(`${number}.1 Consolidated income statement`),
    table(
      textTable([
        ["EUR million", "FY2025", "FY2024"],
        ...labels.map((label, i) => [label, money(current[i] ?? 0), money(prior[i] ?? 0)]),
      ]),
    ),
    paragraph(
      `Revenue grew ${percent((100 * (revenue - revenuePrior)) / revenuePrior)}. Gross margin was ${percent((100 * (current[2] ?? 0)) / revenue)}, and the effective tax rate was ${percent((100 * (current[8] ?? 0)) / (current[7] ?? 1))}.`,
    ),
    heading(`${number}.2 Revenue and operating profit by region`),
    table(
      textTable([
        ["Region", "Revenue FY2025", "Revenue FY2024", "Operating profit"],
        ...segments.map((s) => [s.name, money(s.current), money(s.prior), money(s.profit)]),
        ["Total", money(revenue), money(revenuePrior), money(sum(segments.map((s) => s.profit)))],
      ]),
    ),
    heading(`${number}.3 Quarterly revenue`),
    table(
      textTable([
        ["EUR million", "Q1", "Q2", "Q3", "Q4"],
        ...segments.map((s) => [s.name, ...quarterShares.map((q) => money(s.current * q))]),
      ]),
    ),
    heading(`${number}.4 Consolidated balance sheet (31 December)`),
    table(balanceSheet(rng, revenue)),
    heading(`${number}.5 Consolidated cash flow statement`),
    table(cashFlow(rng, current[5] ?? 0, current[4] ?? 0)),
    paragraph(
      `Net debt at year end was ${money(revenue * rng.float(0.08, 0.14, 3))} million euros. The group's revolving credit facility of 600 million euros was undrawn, and the next bond maturity is in 2028.`,
    ),
  ];
  return { title: "Financial Statements", blocks };
}

function balanceSheet(rng: Prng, revenue: number): string {
  const assets: [string, number][] = [
    ["Property, plant and equipment", revenue * rng.float(0.22, 0.3, 3)],
    ["Right-of-use assets", revenue * rng.float(0.25, 0.35, 3)],
    ["Goodwill and intangibles", revenue * rng.float(0.1, 0.15, 3)],
    ["Trade receivables", revenue * rng.float(0.14, 0.18, 3)],
    ["Cash and equivalents", revenue * rng.float(0.04, 0.08, 3)],
  ];
  const totalAssets = sum(assets.map(([, v]) => round(v)));
  const liabilities: [string, number][] = [
    ["Borrowings", revenue * rng.float(0.12, 0.18, 3)],
    ["Lease liabilities", revenue * rng.float(0.26, 0.34, 3)],
    ["Trade payables", revenue * rng.float(0.12, 0.16, 3)],
  ];
  const totalLiabilities = sum(liabilities.map(([, v]) => round(v)));
  return textTable([
    ["EUR million", "2025"],
    ...assets.map(([label, v]) => [label, money(round(v))]),
    ["Total assets", money(totalAssets)],
    ...liabilities.map(([label, v]) => [label, money(round(v))]),
    ["Total liabilities", money(totalLiabilities)],
    ["Equity", money(round(totalAssets - totalLiabilities))],
  ]);
}

function cashFlow(rng: Prng, operatingProfit: number, depreciation: number): string {
  const workingCapital = round(-operatingProfit * rng.float(0.02, 0.1, 3));
  const taxPaid = round(-operatingProfit * rng.float(0.18, 0.24, 3));
  const operating = round(operatingProfit + depreciation + workingCapital + taxPaid);
  const capex = round(-depreciation * rng.float(0.8, 1.2, 3));
  const dividends = round(-operatingProfit * rng.float(0.2, 0.3, 3));
  const leases = round(-depreciation * rng.float(0.4, 0.6, 3));
  return textTable([
    ["EUR million", "2025"],
    ["Operating profit", money(operatingProfit)],
    ["Depreciation and amortisation", money(depreciation)],
    ["Change in working capital", money(workingCapital)],
    ["Tax paid", money(taxPaid)],
    ["Cash from operations", money(operating)],
    ["Capital expenditure", money(capex)],
    ["Lease payments", money(leases)],
    ["Dividends paid", money(dividends)],
    ["Net change in cash", money(round(operating + capex + leases + dividends))],
  ]);
}
