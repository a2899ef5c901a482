import { type Block, heading, paragraph, type Section, table } from "../document.js";
import { percent, textTable, thousands } from "../format.js";
import type { Prng } from "../prng.js";
import { REGIONS } from "../regions.js";

const TOPICS = [
  {
    title: "Fleet electrification",
    text: "Electric tractors now serve urban and regional routes in every European region, and the first heavy electric units entered service in North America and Asia-Pacific.",
  },
  {
    title: "Buildings and renewable power",
    text: "Rooftop solar arrays were installed on additional warehouses, and renewable power contracts now cover most of our European electricity use.",
  },
  {
    title: "Packaging and waste",
    text: "Reusable pallets and totes replaced single-use packaging on several closed-loop flows; stretch-film use per pallet fell again.",
  },
  {
    title: "Biodiversity and land use",
    text: "New developments are screened for protected habitats, and site landscaping plans favour native planting and rainwater retention.",
  },
  {
    title: "Communities",
    text: "Sites support local food banks with free storage and transport, and employees volunteered in schools and disaster-relief logistics.",
  },
  {
    title: "Reporting and assurance",
    text: "Emissions data for scopes 1 and 2 received limited assurance from an independent auditor; scope 3 figures are estimated using industry factors.",
  },
] as const;

/** `## N. Sustainability`: emissions by region and one subsection per topic. */
export function sustainabilitySection(rng: Prng, number: number): Section {
  const rows = REGIONS.map((region) => [
    region.name,
    thousands(rng.float(20, 90, 1), 1),
    thousands(rng.float(2, 20, 1), 1),
    thousands(rng.float(60, 400, 1), 1),
    percent(rng.float(-15, -2)),
  ]);
  const blocks: Block[] = [
    paragraph(
      `Our target is to halve scope 1 and 2 emissions by 2030 against a 2021 baseline and to reach net zero by 2045. This year emissions fell ${percent(rng.float(6, 12))} while volumes grew, so carbon intensity per pallet moved improved by ${percent(rng.float(10, 16))}.`,
    ),
    table(
      textTable([
        ["Region", "Scope 1 (kt CO2e)", "Scope 2 (kt)", "Scope 3 (kt)", "Change"],
        ...rows,
      ]),
    ),
  ];
  TOPICS.forEach((topic, index) => {
    blocks.push(
      heading(`${number}.${index + 1} ${topic.title}`),
      paragraph(
        `${topic.text} Progress against the programme milestone for the year was ${rng.pick(["on track", "ahead of plan", "slightly behind plan"])}, and ${rng.int(40, 95)}% of the planned investment was committed.`,
      ),
    );
  });
  return { title: "Sustainability", blocks };
}
