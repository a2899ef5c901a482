import { list, paragraph, person, type Section, table } from "../document.js";
import { isoDate, percent, textTable } from "../format.js";
import type { Prng } from "../prng.js";
import { REGIONS } from "../regions.js";
import { CUSTOMERS, INCIDENT_TYPES, SEVERITIES } from "../vocabulary.js";

const TICKETS = 440;

/**
 * `## N. Customer Incidents`: statistics and a ticket log. Ticket ids are `INC-` and four
 * digits; `reservedId` (the planted marker's number) is never used for a real ticket, so
 * the marker's count in the report is exactly the number of planted sentences.
 */
export function incidentsSection(rng: Prng, reservedId: number): Section {
  const ids: number[] = [];
  const used = new Set<number>([reservedId]);
  while (ids.length < TICKETS) {
    const id = rng.int(1000, 9999);
    if (!used.has(id)) {
      used.add(id);
      ids.push(id);
    }
  }
  const sites = REGIONS.flatMap((region) => region.sites.map((site) => site.name));
  const tickets = ids
    .map((id) => {
      const type = rng.pick(INCIDENT_TYPES);
      return {
        id,
        month: rng.int(0, 11),
        day: rng.int(1, 31),
        severity: rng.pick(SEVERITIES),
        customer: rng.pick(CUSTOMERS),
        site: rng.pick(sites),
        category: type.category,
        resolution: rng.pick(type.resolutions),
        owner: person(rng),
        hours: rng.int(1, 160),
      };
    })
    .sort((a, b) => a.month - b.month || a.day - b.day || a.id - b.id);
  const byCategory = INCIDENT_TYPES.map(({ category }) => {
    const count = tickets.filter((t) => t.category === category).length;
    return [category, String(count), percent((100 * count) / TICKETS), `${rng.int(6, 70)} h`];
  });
  return {
    title: "Customer Incidents",
    blocks: [
      paragraph(
        `Every customer-facing failure is logged as an incident with a ticket id, a severity from S1 (critical) to S4 (minor), an owner and a resolution. This year ${TICKETS} incidents met the reporting threshold, ${percent(rng.float(8, 19))} fewer than last year relative to volume.`,
      ),
      table(textTable([["Category", "Tickets", "Share", "Median time to close"], ...byCategory])),
      paragraph(
        `Temperature excursions are not the most frequent category, but they carry the highest cost per incident because whole consignments may have to be destroyed. Severity S1 incidents are reviewed by the executive committee within five working days.`,
      ),
      paragraph(
        `The log below lists each incident in date order: ticket id, date, severity, customer, site, category, resolution, owner and hours to close.`,
      ),
      list(
        tickets.map(
          (t) =>
            `INC-${t.id} | ${isoDate(t.month, t.day)} | ${t.severity} | ${t.customer} | ${t.site} | ${t.category} | ${t.resolution} | owner ${t.owner} | closed in ${t.hours} h`,
        ),
      ),
      paragraph(
        `Repeat incidents for the same customer and site fell by ${rng.int(12, 35)}% after root-cause reviews became mandatory for every S1 and S2 ticket.`,
      ),
    ],
  };
}
