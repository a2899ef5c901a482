import { line, list, paragraph, person, type Section, type Sentence, table } from "../document.js";
import { type Segment, total } from "../figures.js";
import { percent, textTable, thousands } from "../format.js";
import type { Prng } from "../prng.js";
import { REGIONS } from "../regions.js";
import { CHALLENGES, CUSTOMERS, INITIATIVES } from "../vocabulary.js";

const LETTER: readonly Sentence<{ ceo: string }>[] = [
  () =>
    `In a year when freight markets swung between shortage and surplus more than once, Northwind grew revenue and kept on-time delivery above our 96% target in six of eight regions.`,
  () =>
    `We did not get everything right. Service in two regions slipped during the summer, and we have been open with customers about the causes and about what we changed.`,
  ({ rng }) =>
    `Our people handled ${thousands(rng.int(38, 52))} million pallet movements, drove ${thousands(rng.int(310, 420))} million kilometres and answered more than ${thousands(rng.int(900, 1400))} thousand customer enquiries.`,
  ({ rng }) =>
    `The board approved a capital programme of ${rng.int(180, 260)} million euros for the next three years, weighted towards automation and electric vehicles.`,
  () =>
    `Safety remains the first item on every management agenda. Our lost-time injury rate fell again, but one serious injury at a cross-dock reminded us that the work is never finished.`,
  ({ rng }) =>
    `Customers trusted us with ${rng.int(40, 75)} new contracts, and we renewed every one of our twenty largest accounts.`,
  () =>
    `Decarbonisation is now a commercial question as much as an ethical one: more tenders ask for verified emissions data per shipment, and we can now provide it for most lanes.`,
  ({ rng }) =>
    `We paid a dividend of ${rng.float(0.8, 1.6, 2).toFixed(2)} euros per share and kept net debt below 1.5 times EBITDA.`,
  () =>
    `I want to thank our employees, who kept goods moving through storms, strikes and system upgrades, and our customers and shareholders for their continued confidence.`,
  ({ rng }) =>
    `Looking ahead, we expect growth of ${rng.int(3, 6)} to ${rng.int(7, 9)}% in 2026, with margins supported by the efficiency programme launched this year.`,
];

/** `## 1. Letter to Shareholders`. */
export function letterSection(rng: Prng): Section {
  const ceo = person(rng);
  const scope = { rng, ceo };
  return {
    title: "Letter to Shareholders",
    blocks: [
      line("Dear shareholders,"),
      // A letter reads in order: fixed paragraphs, only the figures vary.
      ...[
        [0, 2, 5],
        [4, 6],
        [1, 3, 7],
        [9, 8],
      ].map((order) => paragraph(order.map((i) => LETTER[i]?.(scope) ?? "").join(" "))),
      paragraph(
        `This report describes the year region by region and site by site. It is long because our business is physical and local: performance is made on dock doors and delivery routes, and we think shareholders should be able to see that detail.`,
      ),
      line(`Yours sincerely,\n${ceo}\nChief Executive Officer, Northwind Logistics`),
    ],
  };
}

/** `## 2. The Year at a Glance`. */
export function glanceSection(rng: Prng, segments: readonly Segment[]): Section {
  const rows = segments.map((segment, index) => [
    segment.name,
    thousands(segment.current, 1),
    percent((100 * (segment.current - segment.prior)) / segment.prior),
    percent(rng.float(93, 98.8)),
    String(REGIONS[index]?.sites.length ?? 0),
  ]);
  const revenue = total(segments.map((s) => s.current));
  const prior = total(segments.map((s) => s.prior));
  return {
    title: "The Year at a Glance",
    blocks: [
      paragraph(
        `Northwind Logistics is a contract logistics and freight company operating ${REGIONS.reduce((n, r) => n + r.sites.length, 0)} sites in ${REGIONS.length} regions. We store, move and deliver goods for manufacturers, retailers and healthcare companies, and we own most of the trucks and trailers we run.`,
      ),
      list([
        `Revenue: EUR ${thousands(revenue, 1)} million (${percent((100 * (revenue - prior)) / prior)} growth)`,
        `Adjusted operating profit of the regions: EUR ${thousands(total(segments.map((s) => s.profit)), 1)} million`,
        `Pallet movements: ${thousands(rng.int(38, 52))} million`,
        `Employees at year end: ${thousands(rng.int(24_000, 31_000))}`,
        `Owned and leased trucks: ${thousands(rng.int(5_200, 6_800))}, of which ${rng.int(9, 16)}% electric`,
        `Scope 1 and 2 emissions: ${thousands(rng.int(410, 520))} thousand tonnes CO2e (${percent(rng.float(6, 12))} lower)`,
        `Lost-time injury frequency rate: ${rng.float(1.1, 2.4, 2).toFixed(2)} per million hours worked`,
      ]),
      table(textTable([["Region", "Revenue (EUR m)", "Growth", "On-time", "Sites"], ...rows])),
      paragraph(
        `The largest new contracts were signed with ${rng.pick(CUSTOMERS)}, ${rng.pick(CUSTOMERS)} and ${rng.pick(CUSTOMERS)}. The main operational headwinds were ${rng.pick(CHALLENGES)} and ${rng.pick(CHALLENGES)}. The group's flagship programme for the year was ${rng.pick(INITIATIVES)}, now live at ${rng.int(12, 30)} sites.`,
      ),
    ],
  };
}
