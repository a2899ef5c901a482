import { heading, list, paragraph, person, type Section } from "../document.js";
import type { Prng } from "../prng.js";
import { REGIONS } from "../regions.js";

const GLOSSARY: readonly [string, string][] = [
  [
    "Cross-dock",
    "a site where goods move from inbound to outbound vehicles with little or no storage",
  ],
  ["Dock-to-stock", "the time from a vehicle's arrival until its goods are available to pick"],
  ["LTIFR", "lost-time injury frequency rate, per million hours worked"],
  [
    "On-time delivery",
    "deliveries within the customer's agreed window, as a share of all deliveries",
  ],
  ["Pallet movement", "one pallet received, moved within a site, or dispatched"],
  ["Reefer", "a refrigerated trailer or container"],
  ["Ro-ro", "roll-on/roll-off shipping, where vehicles drive on and off the vessel"],
  [
    "Scope 1, 2, 3",
    "direct emissions, emissions from purchased energy, and other indirect emissions",
  ],
  ["Slotting", "deciding where each product is stored in a warehouse"],
  ["Wave", "a batch of orders released for picking together"],
];

/** `## N. Appendices`: facility directory, glossary, governance and the usual caveat. */
export function appendicesSection(rng: Prng, number: number): Section {
  const directory = REGIONS.flatMap((region) =>
    region.sites.map(
      (site) =>
        `${site.name} — ${site.city}, ${site.country} — ${region.name} — ${site.role} — site code NW-${site.city.slice(0, 3).toUpperCase()}-${String(rng.int(10, 99))}`,
    ),
  );
  const board = [
    "Chair",
    "Chief Executive Officer",
    "Chief Financial Officer",
    "Senior Independent Director",
    "Independent Non-Executive Director",
    "Independent Non-Executive Director",
    "Independent Non-Executive Director",
    "Employee Representative Director",
  ].map((role) => `${person(rng)}, ${role}`);
  return {
    title: "Appendices",
    blocks: [
      heading(`${number}.1 Appendix A — Facility directory`),
      list(directory),
      heading(`${number}.2 Appendix B — Glossary`),
      list(GLOSSARY.map(([term, meaning]) => `${term}: ${meaning}.`)),
      heading(`${number}.3 Appendix C — Board of directors`),
      list(board),
      heading(`${number}.4 Appendix D — Forward-looking statements`),
      paragraph(
        "This report contains statements about future plans, targets and expectations. They reflect management's current views and are subject to risks and uncertainties, many of which are outside the company's control; actual results may differ materially. Northwind Logistics is a fictional company, and this report was generated for software testing.",
      ),
    ],
  };
}
