import { type Block, heading, paragraph, type Section } from "../document.js";
import { percent } from "../format.js";
import type { Prng } from "../prng.js";

interface Risk {
  title: string;
  description: string;
  mitigation: string;
}

const RISKS: readonly Risk[] = [
  {
    title: "Labour availability and wage inflation",
    description:
      "Warehouse and driving jobs compete with construction, retail and the gig economy for the same workers. In several regions unemployment is close to record lows, and the driver population is ageing.",
    mitigation:
      "We run driver academies with vocational schools, offer predictable rosters, and invest in automation where it removes the hardest physical work.",
  },
  {
    title: "Fuel and energy prices",
    description:
      "Diesel and electricity are our largest costs after labour. Most contracts contain fuel-adjustment clauses, but they pass on changes with a delay of one to three months.",
    mitigation:
      "We hedge part of the expected diesel volume, negotiate fixed-price power contracts for large sites and install on-site solar generation.",
  },
  {
    title: "Customer concentration",
    description:
      "Our twenty largest customers account for a significant share of revenue. The loss of one of them, or a sharp fall in their volumes, would reduce profit at several sites at once.",
    mitigation:
      "Contracts run for three to five years with notice periods, and account teams track service and satisfaction monthly.",
  },
  {
    title: "Cyber-security and systems availability",
    description:
      "Warehouse management, transport management and customer portals must run around the clock. A ransomware attack or a prolonged outage would stop goods moving within hours.",
    mitigation:
      "We segment networks, test backups quarterly, rehearse manual fallback procedures at every site and carry cyber insurance.",
  },
  {
    title: "Climate and extreme weather",
    description:
      "Floods, storms and heatwaves disrupt roads and ports and put staff at risk. Several of our sites are in low-lying port areas.",
    mitigation:
      "Site resilience plans cover flood barriers, backup power and alternative routings; new leases are screened for physical climate risk.",
  },
  {
    title: "Regulation of emissions and road transport",
    description:
      "Low-emission zones, road tolls based on CO2 and rules on drivers' hours change the cost of serving city centres and long-distance lanes.",
    mitigation:
      "Our fleet plan brings forward electric vehicles for urban routes, and the public affairs team follows legislation in every region.",
  },
  {
    title: "Geopolitical and trade disruption",
    description:
      "Sanctions, tariffs and conflicts change trade flows and can strand inventory. Shipping routes through narrow straits remain exposed.",
    mitigation:
      "A trade compliance function screens shipments, and our multi-port network lets customers re-route cargo.",
  },
  {
    title: "Health and safety",
    description:
      "Forklifts, trucks and heavy loads make logistics one of the more dangerous industries. A serious accident harms people first and our licence to operate second.",
    mitigation:
      "Safety leadership training, pedestrian segregation and telematics-based driver coaching are standard at every site.",
  },
  {
    title: "Property and lease renewals",
    description:
      "Most sites are leased. Rents for modern warehouses have risen sharply near ports and large cities, and suitable land is scarce.",
    mitigation:
      "We renegotiate early, keep a rolling five-year property plan and favour long leases with break options.",
  },
  {
    title: "Currency movements",
    description:
      "About a third of revenue is earned in US dollars and other non-euro currencies, and results are reported in euros.",
    mitigation: "We borrow in matching currencies and hedge material transaction exposures.",
  },
  {
    title: "Technology change and automation projects",
    description:
      "Large automation projects can run late or fail to reach their design throughput, tying up capital and disrupting operations during cut-over.",
    mitigation:
      "Projects pass stage gates with independent reviews, and go-lives avoid peak seasons.",
  },
  {
    title: "Third-party carriers",
    description:
      "Subcontracted hauliers carry part of our volume. Their failures become our service failures, and their compliance with labour law is our reputational risk.",
    mitigation:
      "Carriers are vetted, audited and scored; we limit any one subcontractor's share of a lane.",
  },
];

/** `## N. Risk Factors`: one `###` subsection per principal risk. */
export function risksSection(rng: Prng, number: number): Section {
  const blocks: Block[] = [
    paragraph(
      "The board reviews the principal risks twice a year. The list below is not exhaustive; risks are ordered by the board's assessment of their combined likelihood and impact.",
    ),
  ];
  RISKS.forEach((risk, index) => {
    blocks.push(
      heading(`${number}.${index + 1} ${risk.title}`),
      paragraph(risk.description),
      paragraph(
        `${risk.mitigation} The board rates this risk as ${rng.pick(["high", "medium-high", "medium", "medium-low"])}, ${rng.pick(["unchanged from", "higher than", "lower than"])} last year, and estimates that a severe but plausible event could reduce operating profit by ${percent(rng.float(1, 9))}.`,
      ),
    );
  });
  return { title: "Risk Factors", blocks };
}
