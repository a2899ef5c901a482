import {
  type Block,
  compose,
  heading,
  line,
  list,
  paragraph,
  person,
  type Section,
  type Sentence,
  table,
} from "../document.js";
import { monthName, percent, textTable, thousands } from "../format.js";
import type { Prng } from "../prng.js";
import type { Region } from "../regions.js";
import { CHALLENGES, CUSTOMERS, INITIATIVES } from "../vocabulary.js";
import {
  CUSTOMER_NOTES,
  MONTH_NOTES,
  OUTLOOK,
  PEOPLE,
  PROFILE,
  PROJECTS,
  QUARTER_NOTES,
  type SiteScope,
  YEAR,
} from "./site-sentences.js";

interface RegionScope {
  region: Region;
  lead: string;
}

const REGION_INTRO: readonly Sentence<RegionScope>[] = [
  ({ region, lead }) =>
    `${region.name} is managed from ${region.office} by regional managing director ${lead}, with ${region.sites.length} sites reporting to the regional team.`,
  ({ rng }) =>
    `Regional revenue grew ${percent(rng.float(1.5, 12))} in constant currency, while operating margin ${rng.pick(["improved", "held steady", "narrowed slightly"])} to ${percent(rng.float(4, 11))}.`,
  ({ rng }) =>
    `The year was shaped by ${rng.pick(CHALLENGES)} and by ${rng.pick(CHALLENGES)}, both of which the team managed without a lasting effect on service.`,
  ({ rng }) =>
    `Investment focused on ${rng.pick(INITIATIVES)} and ${rng.pick(INITIATIVES)}, in line with the group's three-year plan.`,
  ({ rng }) =>
    `The regional customer base remained concentrated: the ten largest accounts generated ${rng.int(38, 64)}% of revenue, led by ${rng.pick(CUSTOMERS)}.`,
  ({ rng }) =>
    `On-time delivery for the region averaged ${percent(rng.float(93, 98.8))}, against a group target of 96.0%.`,
];

const REGION_OUTLOOK: readonly Sentence<RegionScope>[] = [
  ({ rng }) =>
    `The regional plan for 2026 assumes volume growth of ${rng.int(2, 9)}% and no new sites, with capital directed to automation in existing buildings.`,
  ({ region }) =>
    `Management in ${region.office} will review the network footprint in the first half, including options to consolidate smaller depots.`,
  ({ rng }) =>
    `Labour availability remains the main constraint, and wage inflation of about ${rng.int(3, 8)}% is built into the budget.`,
  ({ rng }) =>
    `Two large tenders, worth a combined ${rng.int(20, 140)} million a year, are due to be decided in the spring.`,
  ({ lead }) =>
    `${lead} has asked each site to propose one decarbonisation project for funding from the group's transition budget.`,
];

/**
 * `## N. Operations — Region`: a regional overview, a table of its sites, then one
 * subsection per site with a profile, quarterly KPIs, customers, people, a monthly log
 * and an outlook.
 */
export function operationsSection(rng: Prng, region: Region, number: number): Section {
  const scope = { rng, region, lead: person(rng) };
  const intro = rng.sample(REGION_INTRO, REGION_INTRO.length).map((sentence) => sentence(scope));
  const blocks: Block[] = [
    paragraph(intro.slice(0, 4).join(" ")),
    table(siteSummary(rng, region)),
    paragraph(intro.slice(4).join(" ")),
  ];
  region.sites.forEach((site, index) => {
    const siteScope: SiteScope & { rng: Prng } = { rng, region, site, manager: person(rng) };
    blocks.push(
      heading(`${number}.${index + 1} ${site.name}`),
      line(
        `Site manager: ${siteScope.manager} · Location: ${site.city}, ${site.country} · Role: ${site.role}`,
      ),
      paragraph(compose(siteScope, PROFILE, 5)),
      paragraph(compose(siteScope, YEAR, 5)),
      table(siteKpis(rng)),
      paragraph(compose(siteScope, CUSTOMER_NOTES, 4)),
      paragraph(compose(siteScope, PEOPLE, 4)),
      paragraph(compose(siteScope, PROJECTS, 4)),
      line("Quarterly review:"),
      // Sentences are dealt from one shuffled pool per site, so no note repeats within it.
      ...chunks(rng.sample(QUARTER_NOTES, 16), 4).map((notes, i) =>
        paragraph(
          `Q${i + 1}. ${notes.map((note) => note({ ...siteScope, quarter: i + 1 })).join(" ")}`,
        ),
      ),
      line("Monthly log:"),
      list(
        chunks(rng.sample(MONTH_NOTES, 24), 2).map((notes, month) => {
          const text = notes.map((note) => note({ ...siteScope, month })).join(" Also: ");
          return `${monthName(month)}: ${text}`;
        }),
      ),
      paragraph(compose(siteScope, OUTLOOK, 3)),
    );
  });
  blocks.push(paragraph(compose(scope, REGION_OUTLOOK, 4)));
  return { title: `Operations — ${region.name}`, blocks };
}

function siteSummary(rng: Prng, region: Region): string {
  const rows = region.sites.map((site) => [
    site.name,
    thousands(rng.int(150, 2_400)),
    percent(rng.float(91, 99.4)),
    thousands(rng.float(8, 140, 1), 1),
    thousands(rng.int(60, 640)),
  ]);
  return textTable([
    ["Site", "Pallets (000)", "On-time", `Revenue (${region.currency} m)`, "Headcount"],
    ...rows,
  ]);
}

function siteKpis(rng: Prng): string {
  const quarter = (min: number, max: number, decimals: number) =>
    Array.from({ length: 4 }, () => rng.float(min, max, decimals).toFixed(decimals));
  const rows: string[][] = [
    ["On-time delivery (%)", ...quarter(90, 99.5, 1)],
    ["Pick accuracy (%)", ...quarter(99, 99.99, 2)],
    ["Dock-to-stock (hours)", ...quarter(3, 26, 1)],
    ["Cost per pallet", ...quarter(6, 24, 2)],
    ["Lost-time injuries", ...quarter(0, 1.4, 0)],
  ];
  return textTable([["Indicator", "Q1", "Q2", "Q3", "Q4"], ...rows]);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
