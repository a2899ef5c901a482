import { paragraph, type Section, table } from "../document.js";
import { percent, textTable, thousands } from "../format.js";
import type { Prng } from "../prng.js";
import { REGIONS } from "../regions.js";

/** `## N. People, Health and Safety`. */
export function peopleSection(rng: Prng): Section {
  const rows = REGIONS.map((region) => [
    region.name,
    thousands(rng.int(1_800, 5_200)),
    percent(rng.float(18, 41)),
    percent(rng.float(8, 27)),
    rng.float(0.6, 3.2, 2).toFixed(2),
  ]);
  return {
    title: "People, Health and Safety",
    blocks: [
      paragraph(
        `Northwind employs warehouse operatives, drivers, planners, engineers and office staff in ${REGIONS.length} regions. The table shows year-end headcount, the share of women, voluntary turnover and the lost-time injury frequency rate per million hours worked.`,
      ),
      table(textTable([["Region", "Headcount", "Women", "Turnover", "LTIFR"], ...rows])),
      paragraph(
        `Training hours per employee rose to ${rng.float(18, 34).toFixed(1)}. The group's leadership programme graduated ${rng.int(180, 420)} first-line managers, and ${rng.int(60, 190)} apprentices joined driver and technician schemes.`,
      ),
      paragraph(
        `There were no work-related fatalities. One serious injury occurred when a pedestrian was struck by a reversing reach truck; the investigation led to new floor markings and blue-spot warning lights at all sites.`,
      ),
      paragraph(
        `Engagement in the annual survey was ${rng.int(68, 86)}%, with the highest scores for safety and team spirit and the lowest for career development, which is the focus for next year.`,
      ),
    ],
  };
}
