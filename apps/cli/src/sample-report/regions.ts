/** One warehouse, terminal or depot of the fictional company. */
export interface Site {
  name: string;
  city: string;
  country: string;
  /** What the site mainly does, used in the prose ("a port terminal that …"). */
  role: string;
}

/** An operating region: one `## Operations — …` section of the report. */
export interface Region {
  name: string;
  currency: string;
  /** Headquarters city of the regional management team. */
  office: string;
  sites: Site[];
}

const site = (name: string, city: string, country: string, role: string): Site => ({
  name,
  city,
  country,
  role,
});

export const REGIONS: readonly Region[] = [
  {
    name: "Northern Europe",
    currency: "EUR",
    office: "Copenhagen",
    sites: [
      site("Oslo Gardermoen Distribution Centre", "Oslo", "Norway", "national distribution centre"),
      site("Gothenburg Port Terminal", "Gothenburg", "Sweden", "container and ro-ro terminal"),
      site("Copenhagen Køge Cross-Dock", "Køge", "Denmark", "cross-dock for Zealand and Skåne"),
      site("Helsinki Vantaa Hub", "Vantaa", "Finland", "air-freight and parcel hub"),
      site(
        "Stockholm Arlanda Fulfilment Centre",
        "Märsta",
        "Sweden",
        "e-commerce fulfilment centre",
      ),
      site("Aarhus Distribution Centre", "Aarhus", "Denmark", "chilled-food distribution centre"),
      site("Tallinn Muuga Terminal", "Maardu", "Estonia", "Baltic feeder terminal"),
      site("Bergen Coastal Depot", "Bergen", "Norway", "coastal seafood depot"),
    ],
  },
  {
    name: "Western Europe",
    currency: "EUR",
    office: "Rotterdam",
    sites: [
      site("Rotterdam Maasvlakte Hub", "Rotterdam", "Netherlands", "deep-sea gateway hub"),
      site("Antwerp Port Centre", "Antwerp", "Belgium", "port-centric chemicals warehouse"),
      site("Duisburg Rail Terminal", "Duisburg", "Germany", "inland rail terminal"),
      site(
        "Hamburg Altenwerder Distribution Centre",
        "Hamburg",
        "Germany",
        "import distribution centre",
      ),
      site("Lille Lesquin Cross-Dock", "Lesquin", "France", "cross-dock for northern France"),
      site(
        "Paris Roissy Fulfilment Centre",
        "Roissy-en-France",
        "France",
        "e-commerce fulfilment centre",
      ),
      site("Lyon Saint-Exupéry Depot", "Colombier-Saugnieu", "France", "regional depot"),
      site("Felixstowe Port Terminal", "Felixstowe", "United Kingdom", "container freight station"),
    ],
  },
  {
    name: "Central and Eastern Europe",
    currency: "EUR",
    office: "Warsaw",
    sites: [
      site("Gdańsk Deepwater Terminal", "Gdańsk", "Poland", "deep-water container terminal"),
      site("Poznań Logistics Park", "Poznań", "Poland", "multi-user logistics park"),
      site(
        "Wrocław Bielany Distribution Centre",
        "Wrocław",
        "Poland",
        "retail distribution centre",
      ),
      site("Prague Airport Logistics Centre", "Prague", "Czechia", "air-freight logistics centre"),
      site("Budapest Gyál Hub", "Gyál", "Hungary", "regional hub"),
      site("Bratislava Senec Depot", "Senec", "Slovakia", "automotive parts depot"),
      site("Vienna Inzersdorf Terminal", "Vienna", "Austria", "rail-road terminal"),
      site("Bucharest Chitila Warehouse", "Chitila", "Romania", "consumer goods warehouse"),
    ],
  },
  {
    name: "Iberia and the Mediterranean",
    currency: "EUR",
    office: "Madrid",
    sites: [
      site("Madrid Coslada Hub", "Coslada", "Spain", "national hub"),
      site("Barcelona Zona Franca Centre", "Barcelona", "Spain", "bonded distribution centre"),
      site("Valencia Port Terminal", "Valencia", "Spain", "container terminal"),
      site("Lisbon Alverca Depot", "Alverca do Ribatejo", "Portugal", "regional depot"),
      site("Milan Piacenza Distribution Centre", "Piacenza", "Italy", "fashion and apparel centre"),
      site("Genoa Port Warehouse", "Genoa", "Italy", "port warehouse"),
      site("Marseille Fos Terminal", "Fos-sur-Mer", "France", "Mediterranean gateway"),
      site("Piraeus Thriasio Hub", "Aspropyrgos", "Greece", "rail-connected hub"),
    ],
  },
  {
    name: "North America",
    currency: "USD",
    office: "Chicago",
    sites: [
      site("Chicago Joliet Intermodal Centre", "Joliet", "United States", "intermodal rail centre"),
      site("Memphis Airport Hub", "Memphis", "United States", "overnight parcel hub"),
      site(
        "Dallas Alliance Distribution Centre",
        "Fort Worth",
        "United States",
        "national distribution centre",
      ),
      site(
        "Newark Port Elizabeth Terminal",
        "Elizabeth",
        "United States",
        "East Coast port terminal",
      ),
      site("Savannah Garden City Warehouse", "Garden City", "United States", "import warehouse"),
      site(
        "Inland Empire Fulfilment Centre",
        "Ontario",
        "United States",
        "West Coast fulfilment centre",
      ),
      site("Toronto Mississauga Hub", "Mississauga", "Canada", "Canadian national hub"),
      site("Monterrey Apodaca Cross-Dock", "Apodaca", "Mexico", "cross-border cross-dock"),
    ],
  },
  {
    name: "Latin America",
    currency: "USD",
    office: "São Paulo",
    sites: [
      site(
        "São Paulo Guarulhos Centre",
        "Guarulhos",
        "Brazil",
        "air-cargo and distribution centre",
      ),
      site("Santos Port Terminal", "Santos", "Brazil", "container terminal"),
      site("Mexico City Cuautitlán Hub", "Cuautitlán Izcalli", "Mexico", "national hub"),
      site("Bogotá Funza Warehouse", "Funza", "Colombia", "consumer goods warehouse"),
      site("Lima Callao Depot", "Callao", "Peru", "port depot"),
      site("Santiago Pudahuel Centre", "Pudahuel", "Chile", "regional distribution centre"),
      site("Buenos Aires Pilar Warehouse", "Pilar", "Argentina", "pharmaceutical warehouse"),
      site("Colón Free Zone Hub", "Colón", "Panama", "free-zone transshipment hub"),
    ],
  },
  {
    name: "Asia-Pacific",
    currency: "USD",
    office: "Singapore",
    sites: [
      site("Singapore Tuas Mega Hub", "Singapore", "Singapore", "regional transshipment hub"),
      site("Shenzhen Yantian Warehouse", "Shenzhen", "China", "export consolidation warehouse"),
      site("Shanghai Waigaoqiao Centre", "Shanghai", "China", "bonded logistics centre"),
      site("Busan New Port Terminal", "Busan", "South Korea", "container terminal"),
      site("Yokohama Daikoku Depot", "Yokohama", "Japan", "automotive and parts depot"),
      site("Port Klang Westports Warehouse", "Klang", "Malaysia", "port warehouse"),
      site("Sydney Moorebank Intermodal Centre", "Moorebank", "Australia", "intermodal centre"),
      site("Melbourne Truganina Fulfilment Centre", "Truganina", "Australia", "fulfilment centre"),
    ],
  },
  {
    name: "Middle East and Africa",
    currency: "USD",
    office: "Dubai",
    sites: [
      site("Dubai Jebel Ali Hub", "Dubai", "United Arab Emirates", "free-zone regional hub"),
      site("Riyadh Dry Port Centre", "Riyadh", "Saudi Arabia", "dry-port distribution centre"),
      site("Doha Logistics Park", "Doha", "Qatar", "contract logistics park"),
      site(
        "Johannesburg City Deep Terminal",
        "Johannesburg",
        "South Africa",
        "inland container terminal",
      ),
      site("Durban Bayhead Warehouse", "Durban", "South Africa", "port warehouse"),
      site("Nairobi Embakasi Depot", "Nairobi", "Kenya", "East African depot"),
      site("Lagos Apapa Warehouse", "Lagos", "Nigeria", "port warehouse"),
      site("Tanger Med Logistics Zone", "Tangier", "Morocco", "Strait of Gibraltar gateway"),
    ],
  },
];
