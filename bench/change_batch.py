"""Realistic Firehose batches of DynamoDB change records, for the benchmark and the tests.

Orders of a shop: INSERT / MODIFY / REMOVE (some by TTL) with nested maps, lists of maps, string,
number and binary sets, booleans, nulls, decimals and large integers, as DynamoDB's Kinesis
streaming destination writes them.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

# Lambda's synchronous request limit (6 MB, counted as 6 MiB) bounds the whole event Firehose sends.
MAX_EVENT_BYTES = 6 * 1024 * 1024

_WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
]
_STATUSES = ("PLACED", "PAID", "PACKED", "SHIPPED", "DELIVERED", "CANCELLED")
_CITIES = ("Berlin", "Lyon", "Porto", "Kraków", "Malmö", "Zürich", "São Paulo", "Osaka")


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def _price(rng: random.Random) -> str:
    return f"{rng.randint(0, 2000)}.{rng.randint(0, 99):02d}".rstrip("0").rstrip(".")


def order_image(rng: random.Random, order_id: str, version: int) -> dict[str, Any]:
    """One order item in DynamoDB JSON (about 1-3 KB)."""
    lines = [
        {
            "M": {
                "sku": {"S": f"SKU-{rng.randint(10000, 99999)}"},
                "title": {"S": _sentence(rng, rng.randint(2, 6))},
                "quantity": {"N": str(rng.randint(1, 12))},
                "unit_price": {"N": _price(rng)},
                "gift": {"BOOL": rng.random() < 0.1},
            }
        }
        for _ in range(rng.randint(1, 6))
    ]
    image: dict[str, Any] = {
        "pk": {"S": f"ORDER#{order_id}"},
        "sk": {"S": "ORDER"},
        "version": {"N": str(version)},
        "customer_id": {"S": f"CUST#{rng.randint(1, 10**6):07d}"},
        "status": {"S": rng.choice(_STATUSES)},
        "created_at": {"S": f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"},
        "total": {"N": _price(rng)},
        "item_count": {"N": str(len(lines))},
        "ledger_id": {"N": str(rng.randint(10**19, 10**21))},  # beyond 64 bits: kept exact
        "exchange_rate": {"N": f"1.{rng.randint(10**17, 10**18)}"},  # more digits than a double
        "currency": {"S": "EUR"},
        "express": {"BOOL": rng.random() < 0.3},
        "coupon": {"NULL": True} if rng.random() < 0.7 else {"S": f"C-{rng.randint(1, 999)}"},
        "tags": {"SS": sorted({rng.choice(_WORDS) for _ in range(rng.randint(1, 5))})},
        "ratings": {"NS": sorted({str(rng.randint(1, 5)) for _ in range(3)})},
        "lines": {"L": lines},
        "shipping": {
            "M": {
                "name": {"S": _sentence(rng, 2).title()},
                "street": {"S": f"{rng.randint(1, 300)} {_sentence(rng, 2).title()} Street"},
                "city": {"S": rng.choice(_CITIES)},
                "postcode": {"S": f"{rng.randint(10000, 99999)}"},
                "geo": {
                    "M": {
                        "lat": {"N": f"{rng.uniform(-90, 90):.6f}"},
                        "lon": {"N": f"{rng.uniform(-180, 180):.6f}"},
                    }
                },
            }
        },
        "note": {"S": _sentence(rng, rng.randint(5, 40))},
        "signature": {"B": base64.b64encode(rng.randbytes(rng.randint(16, 96))).decode()},
        "attachments": {
            "BS": [base64.b64encode(rng.randbytes(24)).decode() for _ in range(rng.randint(1, 3))]
        },
    }
    if rng.random() < 0.5:
        image["expires_at"] = {"N": str(1_800_000_000 + rng.randint(0, 10**6))}
    return image


def change_record(rng: random.Random, sequence: int, table_name: str = "orders") -> dict[str, Any]:
    """One DynamoDB Kinesis-destination change record (decoded)."""
    order_id = f"{rng.getrandbits(64):016x}"
    roll = rng.random()
    event_name = "INSERT" if roll < 0.5 else "MODIFY" if roll < 0.85 else "REMOVE"
    new = order_image(rng, order_id, 2) if event_name != "REMOVE" else None
    old = order_image(rng, order_id, 1) if event_name != "INSERT" else None
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": 1_795_000_000_000_000 + sequence * 1_234,
        "Keys": {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}},
        "SizeBytes": rng.randint(200, 4000),
    }
    if new is not None:
        body["NewImage"] = new
    if old is not None:
        body["OldImage"] = old
    ttl = event_name == "REMOVE" and rng.random() < 0.4
    return {
        "awsRegion": "eu-west-1",
        "eventID": f"{rng.getrandbits(128):032x}",
        "eventName": event_name,
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        if ttl
        else None,
        "recordFormat": "application/json",
        "tableName": table_name,
        "dynamodb": body,
        "eventSource": "aws:dynamodb",
    }


def firehose_record(change: dict[str, Any], sequence: int) -> dict[str, Any]:
    data = base64.b64encode(json.dumps(change, separators=(",", ":")).encode()).decode()
    arrival = 1_795_000_000_000 + sequence
    return {
        "recordId": f"49546986683135544286507457936321625675700192471156785154{sequence:06d}",
        "approximateArrivalTimestamp": arrival,
        "data": data,
        "kinesisRecordMetadata": {
            "sequenceNumber": f"4954698668313554428650745793632162567570019247115678{sequence:06d}",
            "subsequenceNumber": 0,
            "partitionKey": f"{sequence:032x}",
            "shardId": "shardId-000000000000",
            "approximateArrivalTimestamp": arrival,
        },
    }


def firehose_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "invocationId": "6b1a7d0e-3c7e-4f0b-9a59-8f7f5e0b1c2d",
        "deliveryStreamArn": (
            "arn:aws:firehose:eu-west-1:123456789012:deliverystream/change-archive"
        ),
        "sourceKinesisStreamArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/change-archive",
        "region": "eu-west-1",
        "records": records,
    }


def maximal_event(seed: int = 2026, max_bytes: int = MAX_EVENT_BYTES) -> dict[str, Any]:
    """As many change records as fit in one Firehose → Lambda request of ``max_bytes``."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    size = len(json.dumps(firehose_event([])))
    while True:
        record = firehose_record(change_record(rng, len(records)), len(records))
        record_size = len(json.dumps(record)) + 2
        if size + record_size > max_bytes:
            return firehose_event(records)
        records.append(record)
        size += record_size
