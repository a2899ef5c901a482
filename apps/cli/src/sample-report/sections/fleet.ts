import { list, paragraph, person, type Section, table } from "../document.js";
import { isoDate, percent, textTable, thousands } from "../format.js";
import type { Prng } from "../prng.js";
import { REGIONS } from "../regions.js";
import { MAINTENANCE_WORK, TRAILER_TYPES, TRUCK_MODELS } from "../vocabulary.js";

const LOG_ENTRIES = 560;

/**
 * `## N. Fleet and Maintenance`: fleet composition by region, commentary, and a long
 * dated maintenance log (the kind of text a model must scan, not read).
 */
export function fleetSection(rng: Prng): Section {
  const composition = REGIONS.map((region) => {
    const tractors = rng.int(320, 1_100);
    return [
      region.name,
      thousands(tractors),
      thousands(Math.round(tractors * rng.float(1.6, 2.6))),
      percent(rng.float(3, 24)),
      rng.float(3.1, 6.8).toFixed(1),
    ];
  });
  const depots = REGIONS.flatMap((region) => region.sites.map((site) => site.city));
  const entries = Array.from({ length: LOG_ENTRIES }, () => ({
    month: rng.int(0, 11),
    day: rng.int(1, 31),
    unit: `NW-${rng.pick(["TR", "TR", "TL", "EV"])}-${String(rng.int(1, 4_999)).padStart(4, "0")}`,
    model: rng.pick(TRUCK_MODELS),
    depot: rng.pick(depots),
    work: rng.pick(MAINTENANCE_WORK),
    downtime: rng.float(0.5, 48, 1),
    cost: rng.int(90, 9_800),
    technician: person(rng),
  })).sort((a, b) => a.month - b.month || a.day - b.day || byCodeUnits(a.unit, b.unit));
  return {
    title: "Fleet and Maintenance",
    blocks: [
      paragraph(
        `The group fleet comprises tractors, rigid trucks and vans, together with ${TRAILER_TYPES.length} main trailer types: ${TRAILER_TYPES.join(", ")}. Average tractor age fell to ${rng.float(3.8, 4.9).toFixed(1)} years as ${rng.int(600, 1_100)} older units were retired.`,
      ),
      table(
        textTable([
          ["Region", "Tractors", "Trailers", "Electric share", "Avg age (yrs)"],
          ...composition,
        ]),
      ),
      paragraph(
        `Preventive maintenance compliance reached ${percent(rng.float(94, 99))}. Unplanned downtime per vehicle fell to ${rng.float(2.1, 4.4).toFixed(1)} days, mostly because tyre and brake inspections moved onto a mileage-based schedule. Workshop capacity was added in ${rng.pick(depots)} and ${rng.pick(depots)}.`,
      ),
      paragraph(
        `Battery-electric tractors now run ${rng.int(40, 160)} regular routes. Real-world range in winter was ${rng.int(12, 28)}% below the manufacturers' figures, so route planners keep a reserve of at least 20% charge. Charger availability at depots was ${percent(rng.float(96, 99.6))}.`,
      ),
      paragraph(
        `The maintenance log below lists every workshop visit above the reporting threshold, with the unit number, vehicle model, depot, work carried out, downtime and cost in local-currency equivalents of euros.`,
      ),
      list(
        entries.map(
          (e) =>
            `${isoDate(e.month, e.day)} · ${e.unit} · ${e.model} · ${e.depot} · ${e.work} · downtime ${e.downtime.toFixed(1)} h · EUR ${thousands(e.cost)} · technician ${e.technician}`,
        ),
      ),
      paragraph(
        `Fleet costs per kilometre rose ${percent(rng.float(0.5, 3.5))} because of higher tyre and parts prices, partly offset by lower fuel use. The fleet team expects electric vehicles to reach cost parity with diesel on urban routes by 2027.`,
      ),
    ],
  };
}

/** Plain code-unit order: `localeCompare` depends on ICU data and ignores punctuation. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
