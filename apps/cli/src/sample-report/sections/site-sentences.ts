import type { Sentence } from "../document.js";
import { count, monthName, percent, thousands } from "../format.js";
import type { Region, Site } from "../regions.js";
import {
  CHALLENGES,
  CUSTOMERS,
  FIRST_NAMES,
  INITIATIVES,
  LAST_NAMES,
  PRODUCT_LINES,
} from "../vocabulary.js";

/** What a site sentence may refer to. */
export interface SiteScope {
  site: Site;
  region: Region;
  manager: string;
}

type S = Sentence<SiteScope>;

const someone: S = ({ rng }) => `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`;

export const PROFILE: readonly S[] = [
  ({ site, rng }) =>
    `${site.name} is Northwind's ${site.role} in ${site.city}, ${site.country}, and has operated under its current lease since ${rng.int(2004, 2021)}.`,
  ({ rng }) =>
    `The site runs ${rng.pick(["two", "three"])} shifts a day, ${rng.pick(["five", "six", "seven"])} days a week, and handled ${thousands(rng.int(180_000, 2_400_000))} pallet movements during the year.`,
  ({ rng }) =>
    `The building offers ${thousands(rng.int(18, 96) * 1000)} square metres of floor space, ${rng.int(24, 140)} dock doors and ${thousands(rng.int(12, 110) * 1000)} racked pallet positions.`,
  ({ rng }) =>
    `Most of its volume is ${rng.pick(PRODUCT_LINES)}, with a growing share of ${rng.pick(PRODUCT_LINES)} since the ${rng.pick(["spring", "autumn", "second half"])} of last year.`,
  ({ manager, rng, region }) =>
    `Site manager ${manager} took over in ${monthName(rng.int(0, 11))} ${rng.int(2019, 2024)} after ${rng.int(3, 14)} years in operations roles across ${region.name}.`,
  ({ site, rng }) =>
    `Road access from ${site.city} is good, and the site sits ${rng.int(2, 38)} kilometres from the nearest motorway junction and ${rng.int(5, 90)} kilometres from the nearest deep-sea berth.`,
  ({ rng }) =>
    `The warehouse management system was upgraded in ${monthName(rng.int(0, 11))}, which brought the site onto the same release as the rest of the network.`,
  ({ rng }) =>
    `Around ${rng.int(55, 92)}% of outbound orders are released in waves before ${rng.int(10, 15)}:00, leaving the afternoon for replenishment and returns.`,
  ({ site }) =>
    `Because ${site.city} is close to several of our largest accounts, the team also runs a small value-added services area for labelling, kitting and repacking.`,
  ({ rng }) =>
    `The yard holds ${rng.int(40, 260)} trailer positions, of which ${rng.int(8, 40)} are equipped with shore power for refrigerated units.`,
];

export const YEAR: readonly S[] = [
  ({ rng }) =>
    `Volumes rose ${percent(rng.float(1, 14))} year on year, ahead of the regional average, driven mainly by ${rng.pick(CUSTOMERS)}.`,
  ({ rng }) =>
    `Throughput dipped in ${monthName(rng.int(0, 11))} because of ${rng.pick(CHALLENGES)}, but recovered within six weeks.`,
  ({ rng }) =>
    `The team introduced ${rng.pick(INITIATIVES)}, which cut average order cycle time by ${rng.int(6, 31)} minutes.`,
  ({ rng }) =>
    `A second initiative, ${rng.pick(INITIATIVES)}, is in pilot in one zone and will be extended if the results hold through the peak.`,
  ({ rng }) =>
    `Operating costs per pallet fell ${percent(rng.float(0.5, 8))}, helped by lower overtime and a better match between labour planning and inbound schedules.`,
  ({ rng, site }) =>
    `${site.city} also absorbed ${thousands(rng.int(4_000, 60_000))} pallets of overflow from neighbouring sites during the ${rng.pick(["spring", "summer", "autumn"])} peak.`,
  ({ rng }) =>
    `Energy use per pallet moved fell ${percent(rng.float(2, 17))} after the lighting and heating controls were recommissioned.`,
  ({ rng }) =>
    `Inventory accuracy measured by cycle counts reached ${percent(rng.float(98.6, 99.97, 2), 2)}, the best result since the site opened.`,
  ({ rng }) =>
    `The site faced ${rng.pick(CHALLENGES)} in the third quarter and used temporary staff from two agencies to keep service levels steady.`,
  ({ rng }) =>
    `Capital expenditure of ${thousands(rng.int(120, 4_800))} thousand was approved for racking, battery chargers and a new sprinkler pump.`,
  ({ rng }) =>
    `Damage claims fell to ${rng.int(3, 48)} for the year, from ${rng.int(49, 120)} the year before.`,
];

export const CUSTOMER_NOTES: readonly S[] = [
  ({ rng }) =>
    `The largest account remains ${rng.pick(CUSTOMERS)}, whose contract was renewed for ${rng.pick(["three", "four", "five"])} years in ${monthName(rng.int(0, 11))}.`,
  ({ rng }) =>
    `${rng.pick(CUSTOMERS)} moved its ${rng.pick(PRODUCT_LINES)} range into the site in the second quarter, adding about ${rng.int(40, 300)} order lines a day.`,
  ({ rng }) =>
    `Customer satisfaction scores averaged ${rng.float(7.1, 9.4)} out of 10 across the quarterly surveys.`,
  ({ rng }) =>
    `One smaller account, ${rng.pick(CUSTOMERS)}, was lost to a competitor on price at the end of its contract.`,
  ({ rng }) =>
    `Joint improvement workshops with ${rng.pick(CUSTOMERS)} focused on forecast sharing and reduced emergency orders by ${rng.int(10, 45)}%.`,
  ({ rng }) =>
    `The commercial team signed ${count(rng.int(1, 6), "new account")}, mostly in ${rng.pick(PRODUCT_LINES)} and ${rng.pick(PRODUCT_LINES)}.`,
  ({ rng }) =>
    `Returns processing for ${rng.pick(CUSTOMERS)} now closes within ${rng.int(2, 6)} working days, down from ${rng.int(7, 14)}.`,
  (scope) =>
    `Account reviews are led by ${someone(scope)}, who meets the main customers monthly and publishes a shared scorecard.`,
];

export const PEOPLE: readonly S[] = [
  ({ rng }) =>
    `Headcount at year end was ${rng.int(60, 640)} permanent staff and an average of ${rng.int(10, 180)} temporary workers.`,
  ({ rng }) =>
    `Staff turnover was ${percent(rng.float(6, 29))}, ${rng.pick(["slightly better than", "in line with", "somewhat worse than"])} the regional average.`,
  ({ rng }) =>
    `The site recorded ${count(rng.int(0, 4), "lost-time injury", "lost-time injuries")} and ${rng.int(3, 40)} near misses, all investigated within the standard ten days.`,
  ({ rng }) =>
    `${rng.int(12, 95)} employees completed forklift refresher training and ${rng.int(4, 30)} team leaders attended the leadership programme.`,
  (scope) =>
    `The health and safety committee, chaired by ${someone(scope)}, met every month and closed ${scope.rng.int(20, 90)} actions.`,
  ({ rng }) =>
    `The employee survey response rate was ${rng.int(61, 94)}%; the main requests were better canteen hours and more predictable rosters.`,
  ({ rng }) =>
    `Absence fell to ${percent(rng.float(2.5, 7.5))} after the site introduced return-to-work interviews.`,
];

export const OUTLOOK: readonly S[] = [
  ({ rng }) =>
    `For 2026 the site plans to add ${rng.int(2, 12)} dock doors and extend the mezzanine for small-parts picking.`,
  ({ rng }) =>
    `Management expects volumes to grow by ${rng.int(2, 11)}% next year, with most of the growth in ${rng.pick(PRODUCT_LINES)}.`,
  ({ rng }) =>
    `The main risk for next year is ${rng.pick(CHALLENGES)}, for which contingency plans were agreed with the regional team.`,
  ({ rng }) => `A tender for ${rng.pick(INITIATIVES)} will be issued in the first quarter.`,
  ({ site }) =>
    `The lease on the ${site.city} building is being renegotiated, and early talks point to a ten-year extension.`,
  ({ rng }) =>
    `The site aims to cut diesel use in the yard by ${rng.int(20, 80)}% by switching to electric tractors.`,
];

/** One line of a site's monthly log, for the month given by `month`. */
export const MONTH_NOTES: readonly Sentence<SiteScope & { month: number }>[] = [
  ({ rng }) =>
    `inbound volumes ${rng.pick(["above", "below", "close to"])} plan; ${rng.int(2, 18)} containers held at the port for inspection.`,
  ({ rng }) =>
    `peak day of ${thousands(rng.int(1_800, 14_000))} order lines handled without overtime.`,
  ({ rng }) => `fire drill completed in ${rng.int(3, 9)} minutes; evacuation routes re-marked.`,
  ({ rng }) =>
    `quarterly audit by ${rng.pick(CUSTOMERS)} passed with ${count(rng.int(0, 4), "minor observation")}.`,
  ({ rng }) => `${rng.int(2, 12)} new starters inducted; buddy scheme extended to night shift.`,
  ({ rng }) => `stock take completed; variance ${percent(rng.float(0.01, 0.4, 2), 2)} of value.`,
  ({ rng }) => `roof repair on bay ${rng.int(1, 12)} after storm damage; no stock affected.`,
  ({ rng }) =>
    `trial of ${rng.pick(INITIATIVES)} started in zone ${rng.pick(["A", "B", "C", "D"])}.`,
  ({ rng }) =>
    `carrier performance review held; ${count(rng.int(1, 3), "haulier")} put on improvement plans.`,
  ({ rng }) => `maintenance shutdown of the sorter for ${rng.int(4, 30)} hours over the weekend.`,
  ({ rng }) => `customer visit from ${rng.pick(CUSTOMERS)}; joint site walk and KPI review.`,
  ({ rng }) => `energy audit found ${rng.int(3, 15)} quick wins, mostly compressed-air leaks.`,
  ({ rng }) => `seasonal staffing ramp-up of ${rng.int(10, 90)} temporary workers started.`,
  ({ rng }) => `${count(rng.int(1, 5), "reach truck")} replaced with lithium-ion models.`,
  () => `security review after a fence breach; CCTV coverage extended to the trailer park.`,
  ({ rng }) =>
    `IT cut-over to the new label printers completed with ${count(rng.int(0, 3), "hour")} of downtime.`,
  ({ rng }) => `volumes ${percent(rng.float(3, 22))} above the same month last year.`,
  () => `quiet month; focus on housekeeping and preventive maintenance.`,
  ({ rng }) =>
    `${rng.int(2, 9)} pallets of damaged stock returned to ${rng.pick(CUSTOMERS)} for credit.`,
  ({ rng }) =>
    `first-aid refresher for ${rng.int(6, 24)} employees; defibrillator checks completed.`,
  ({ rng }) =>
    `backlog of ${thousands(rng.int(200, 4_000))} order lines cleared over two weekend shifts.`,
  ({ rng }) =>
    `new carrier onboarded for ${rng.pick(["regional", "next-day", "pallet-network", "two-man"])} deliveries.`,
  ({ rng }) => `waste contractor changed; recycling rate up to ${percent(rng.float(60, 92))}.`,
  ({ rng }) => `${rng.int(3, 20)} forklift licences renewed after practical assessment.`,
  () => `insurance survey completed with no new recommendations.`,
  ({ rng }) =>
    `slotting review moved ${rng.int(80, 900)} fast-moving SKUs closer to the dispatch area.`,
];

/** Sentences for one quarter of a site's quarterly review. */
export const QUARTER_NOTES: readonly Sentence<SiteScope & { quarter: number }>[] = [
  ({ rng }) =>
    `Volumes were ${percent(rng.float(1, 15))} ${rng.pick(["above", "below"])} budget, with the gap concentrated in ${rng.pick(PRODUCT_LINES)}.`,
  ({ rng }) =>
    `Labour productivity reached ${rng.int(18, 46)} cases per hour in picking, against a target of ${rng.int(20, 40)}.`,
  ({ rng }) =>
    `Overtime accounted for ${percent(rng.float(2, 11))} of hours worked, mostly on Mondays and before public holidays.`,
  ({ rng }) =>
    `${rng.pick(CUSTOMERS)} asked for extended cut-off times, which the site absorbed by moving one wave into the late shift.`,
  ({ rng }) =>
    `Equipment availability was ${percent(rng.float(93, 99.5))}, held back by ${rng.pick(["a conveyor gearbox failure", "charger faults", "a sorter software bug", "a dock leveller repair", "forklift shortages"])}.`,
  ({ rng }) =>
    `The quarter closed with ${count(rng.int(1, 9), "open customer escalation")}, each with an agreed action plan.`,
  ({ rng }) =>
    `Inbound receipts averaged ${rng.int(30, 260)} trailers a day, and ${percent(rng.float(70, 97))} were unloaded within their booked slot.`,
  ({ rng }) =>
    `Damaged-stock write-offs came to ${thousands(rng.int(2, 140))} thousand, ${rng.pick(["lower", "higher"])} than the same quarter a year earlier.`,
  ({ site, rng }) =>
    `Traffic around ${site.city} ${rng.pick(["eased", "worsened", "was unchanged"])}, and average driver turnaround at the gate was ${rng.int(18, 75)} minutes.`,
  ({ rng }) =>
    `A kaizen event in the ${rng.pick(["returns", "packing", "receiving", "replenishment", "loading"])} area removed ${rng.int(3, 14)} non-value-adding steps.`,
  ({ rng }) =>
    `Agency staff made up ${percent(rng.float(5, 35))} of direct labour hours, within the agreed ceiling.`,
  ({ rng }) =>
    `Carrier on-time collection was ${percent(rng.float(85, 99))}, and ${count(rng.int(1, 12), "load")} had to be re-booked because of missed collections.`,
  (scope) =>
    `${someone(scope)} joined as ${scope.rng.pick(["operations manager", "shift manager", "inventory control lead", "customer service lead", "maintenance supervisor"])} and took over the daily performance meeting.`,
  ({ rng }) =>
    `Electricity consumption was ${thousands(rng.int(120, 2_400))} MWh for the quarter, ${percent(rng.float(1, 12))} lower than a year earlier.`,
  ({ rng }) =>
    `Order lines shipped same day reached ${percent(rng.float(88, 99.5))}, with late releases from ${rng.pick(CUSTOMERS)} the main cause of misses.`,
  ({ rng }) =>
    `Returns volumes ran at ${percent(rng.float(2, 18))} of outbound units, ${rng.pick(["a seasonal high", "a seasonal low", "close to the annual average"])}.`,
  ({ rng }) =>
    `Two internal audits, on inventory control and on dangerous goods storage, closed with ${count(rng.int(0, 6), "finding")} between them.`,
  ({ rng }) =>
    `Average dwell time for inbound containers was ${rng.float(1.2, 6.5).toFixed(1)} days, against free time of ${rng.int(3, 7)} days.`,
  ({ rng }) =>
    `The site hosted ${count(rng.int(1, 6), "customer visit")} and a benchmarking day with a sister site in ${rng.pick(["Hamburg", "Poznań", "Madrid", "Singapore", "Chicago", "Dubai", "Santos", "Oslo"])}.`,
];

/** Sentences about a site's capital projects and systems. */
export const PROJECTS: readonly S[] = [
  ({ rng }) =>
    `The main capital project was ${rng.pick(INITIATIVES)}, delivered ${rng.pick(["on budget", "slightly over budget", "under budget"])} and ${rng.pick(["on time", "three weeks late", "a month early"])}.`,
  ({ rng }) =>
    `Racking in aisles ${rng.int(1, 9)} to ${rng.int(10, 24)} was reconfigured for narrow-aisle trucks, adding ${thousands(rng.int(800, 6_000))} pallet positions.`,
  ({ rng }) =>
    `The site connected to the group's transport management system in ${monthName(rng.int(0, 11))}, so carriers now book slots online.`,
  ({ rng }) =>
    `${rng.int(20, 400)} kilowatts of rooftop solar were commissioned, covering about ${rng.int(8, 45)}% of annual consumption.`,
  ({ rng }) =>
    `A feasibility study for ${rng.pick(INITIATIVES)} was completed and is waiting for regional approval.`,
  ({ rng }) =>
    `New dock shelters and ${rng.int(4, 30)} insulated doors reduced heat loss in the chilled area.`,
  () =>
    `The sprinkler system was upgraded to meet the insurer's latest standard, which also lowered the annual premium.`,
  ({ rng }) =>
    `Wi-Fi coverage was rebuilt with ${rng.int(40, 220)} access points after scanner disconnections in the high-bay area.`,
];
