"""Regenerate the synthetic example seeds of the domain template (deterministic; no real person's data).

Run: python scripts/generate_example_seeds.py
Every value is synthetic: names from short lists, emails at example.com/.org/.net, phones in the reserved
555-01xx range, SSNs with valid structure, Luhn-valid test card numbers, IPs from documentation ranges.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "project_template" / "template" / "seeds"
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim", "Margaret", "Linus"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Berners"]
CITIES = [("Seattle", "US", 47.6062, -122.3321), ("Austin", "US", 30.2672, -97.7431), ("Toronto", "CA", 43.6532, -79.3832)]
STREETS = ["Maple Ave", "Oak St", "Pine Rd", "Cedar Ln", "Elm Blvd"]
CARD_PREFIXES = {"visa": "4", "mastercard": "51", "amex": "37"}


def luhn_complete(partial: str) -> str:
    """Append the Luhn check digit to ``partial``."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return partial + str((10 - total % 10) % 10)


def card_number(rng: random.Random, brand: str) -> str:
    length = 15 if brand == "amex" else 16
    prefix = CARD_PREFIXES[brand]
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def customers(rng: random.Random, count: int) -> list[dict[str, object]]:
    rows = []
    for customer_id in range(1, count + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, country, lat, lon = rng.choice(CITIES)
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 50))
        if born.month == 1 and born.day == 1:  # keep generalised birth years distinct from every raw value
            born += timedelta(days=40)
        rows.append(
            {
                "customer_id": customer_id,
                "full_name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}{customer_id}@example.{rng.choice(['com', 'org', 'net'])}",
                "phone": f"+1206555{rng.randrange(100, 200):04d}",
                "ssn": f"{rng.randrange(100, 665):03d}-{rng.randrange(10, 99):02d}-{rng.randrange(1000, 9999):04d}",
                "date_of_birth": born.isoformat(),
                "ip_address": f"203.0.113.{rng.randrange(1, 254)}",
                "street_address": f"{rng.randrange(10, 9999)} {rng.choice(STREETS)}",
                "city": city,
                "country_code": country,
                "latitude": round(lat + rng.uniform(-0.2, 0.2), 6),
                "longitude": round(lon + rng.uniform(-0.2, 0.2), 6),
                "device_id": f"{rng.getrandbits(128):032x}",
                "signed_up_at": (datetime(2023, 1, 1) + timedelta(minutes=rng.randrange(525600))).isoformat(" "),
            }
        )
    return rows


def payments(rng: random.Random, count: int, customer_count: int) -> list[dict[str, object]]:
    rows = []
    cards: dict[int, tuple[str, str]] = {}
    for payment_id in range(1, count + 1):
        customer_id = rng.randrange(1, customer_count + 1)
        if customer_id not in cards:
            brand = rng.choice(list(CARD_PREFIXES))
            cards[customer_id] = (brand, card_number(rng, brand))
        brand, number = cards[customer_id]
        rows.append(
            {
                "payment_id": payment_id,
                "customer_id": customer_id,
                "card_brand": brand,
                "card_number": number,
                "amount_cents": rng.randrange(199, 250000),
                "currency": rng.choice(["USD", "USD", "CAD"]),
                "status": rng.choice(["succeeded"] * 8 + ["failed", "refunded"]),
                "paid_at": (datetime(2024, 1, 1) + timedelta(minutes=rng.randrange(525600))).isoformat(" "),
            }
        )
    return rows


def write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(20261125)
    write_csv(SEEDS / "{% if examples %}raw_customers.csv{% endif %}", customers(rng, 40))
    write_csv(SEEDS / "{% if examples %}raw_payments.csv{% endif %}", payments(rng, 200, 40))


if __name__ == "__main__":
    main()
