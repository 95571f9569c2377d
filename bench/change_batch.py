"""Maximal Firehose batches of DynamoDB change records, for the benchmark and the tests.

Each batch is as many INSERT / MODIFY / REMOVE (some by TTL) change records as fit in one 6 MiB
request, as DynamoDB's Kinesis streaming destination writes them, with items of one shape
(:data:`SHAPES`):

- ``orders``: orders of a shop: nested maps, lists of maps, string, number and binary sets,
  booleans, nulls, decimals and large integers (the original benchmark batch);
- ``numbers``: number-heavy: integers, decimals with 1-4 fraction digits, integers beyond 64 bits
  and decimals with up to 38 significant digits;
- ``sets``: set-heavy: string, number and binary sets of 2-20 members;
- ``nested``: maps and lists nested up to 6 levels deep with small leaves;
- ``large``: a few large string or binary attributes (10-120 KB each);
- ``mix``: a realistic mix: each change takes one of the shapes above.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from typing import Any, Final

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


def _decimal(rng: random.Random) -> str:
    """A decimal as DynamoDB writes it: 1-4 fraction digits, no trailing zero."""
    places = rng.randint(1, 4)
    text = f"{rng.randint(0, 10**6)}.{rng.randint(1, 10**places - 1):0{places}d}".rstrip("0")
    return "-" + text if rng.random() < 0.2 else text


def _number(rng: random.Random) -> str:
    """A number of any kind a table holds, as DynamoDB writes it (no exponent, no padding)."""
    roll = rng.random()
    if roll < 0.35:
        return str(rng.randint(-1000, 10**6))
    if roll < 0.45:
        return str(rng.randint(-(2**63), 2**63 - 1))  # any int64
    if roll < 0.85:
        return _decimal(rng)
    if roll < 0.93:
        return str(rng.randint(10**19, 10**38 - 1))  # beyond 64 bits: kept exact as text
    digits = str(rng.randint(10**37, 10**38 - 1))  # 38 significant digits: kept exact as text
    point = rng.randint(1, 37)
    return f"{digits[:point]}.{digits[point:]}".rstrip("0")


def _binary(rng: random.Random, size: int) -> str:
    return base64.b64encode(rng.randbytes(size)).decode()


def numbers_image(rng: random.Random, key: str, version: int) -> dict[str, Any]:
    """A number-heavy item: readings, amounts and counters (about 60 N values)."""
    image: dict[str, Any] = {
        "pk": {"S": f"METER#{key}"},
        "sk": {"S": "READING"},
        "version": {"N": str(version)},
    }
    for index in range(rng.randint(30, 50)):
        image[f"n{index}"] = {"N": _number(rng)}
    image["amounts"] = {"L": [{"N": _decimal(rng)} for _ in range(rng.randint(5, 15))]}
    return image


def sets_image(rng: random.Random, key: str, version: int) -> dict[str, Any]:
    """A set-heavy item: tags, scores and fingerprints as SS, NS and BS."""
    image: dict[str, Any] = {
        "pk": {"S": f"PROFILE#{key}"},
        "sk": {"S": "V"},
    }
    for index in range(rng.randint(3, 6)):
        image[f"tags{index}"] = {
            "SS": sorted({_sentence(rng, rng.randint(1, 2)) for _ in range(rng.randint(2, 20))})
        }
        image[f"scores{index}"] = {"NS": sorted({_number(rng) for _ in range(rng.randint(2, 20))})}
        image[f"hashes{index}"] = {
            "BS": sorted({_binary(rng, rng.choice((16, 20, 32))) for _ in range(rng.randint(2, 8))})
        }
    return image


def _nested_value(rng: random.Random, depth: int) -> dict[str, Any]:
    roll = rng.random()
    if depth > 0 and roll < 0.45:
        return {
            "M": {
                rng.choice(_WORDS) + str(index): _nested_value(rng, depth - 1)
                for index in range(rng.randint(1, 4))
            }
        }
    if depth > 0 and roll < 0.7:
        return {"L": [_nested_value(rng, depth - 1) for _ in range(rng.randint(1, 4))]}
    leaf = rng.random()
    if leaf < 0.4:
        return {"S": _sentence(rng, rng.randint(1, 3))}
    if leaf < 0.75:
        return {"N": _number(rng)}
    if leaf < 0.9:
        return {"BOOL": rng.random() < 0.5}
    return {"NULL": True}


def nested_image(rng: random.Random, key: str, version: int) -> dict[str, Any]:
    """A document item: maps and lists nested up to 6 levels deep."""
    image: dict[str, Any] = {
        "pk": {"S": f"DOC#{key}"},
        "sk": {"S": "V"},
    }
    for index in range(rng.randint(3, 6)):
        image[f"section{index}"] = _nested_value(rng, rng.randint(3, 6))
    return image


def large_image(rng: random.Random, key: str, version: int) -> dict[str, Any]:
    """An item carrying a few large attributes: a text body or a binary blob."""
    image: dict[str, Any] = {
        "pk": {"S": f"FILE#{key}"},
        "sk": {"S": "V"},
        "size": {"N": str(rng.randint(10_000, 120_000))},
    }
    for index in range(rng.randint(1, 3)):
        size = rng.randint(10_000, 120_000)
        if rng.random() < 0.5:
            words = _sentence(rng, size // 6)
            image[f"body{index}"] = {"S": words}
        else:
            image[f"blob{index}"] = {"B": _binary(rng, size * 3 // 4)}
    return image


Image = Callable[[random.Random, str, int], dict[str, Any]]
SHAPES: Final[dict[str, Image]] = {
    "orders": order_image,
    "numbers": numbers_image,
    "sets": sets_image,
    "nested": nested_image,
    "large": large_image,
}
MIX: Final = "mix"


def _mixed_image(rng: random.Random, key: str, version: int) -> dict[str, Any]:
    # Mostly everyday items, now and then a document or a large attribute.
    roll = rng.random()
    shape = (
        "orders"
        if roll < 0.4
        else "numbers"
        if roll < 0.6
        else "sets"
        if roll < 0.75
        else "nested"
        if roll < 0.99
        else "large"
    )
    return SHAPES[shape](rng, key, version)


def change_record(
    rng: random.Random, sequence: int, table_name: str = "orders", image: Image = order_image
) -> dict[str, Any]:
    """One DynamoDB Kinesis-destination change record (decoded) of items made by ``image``."""
    order_id = f"{rng.getrandbits(64):016x}"
    roll = rng.random()
    event_name = "INSERT" if roll < 0.5 else "MODIFY" if roll < 0.85 else "REMOVE"
    new = image(rng, order_id, 2) if event_name != "REMOVE" else None
    old = image(rng, order_id, 1) if event_name != "INSERT" else None
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": 1_795_000_000_000_000 + sequence * 1_234,
        "Keys": {"pk": (new or old or {})["pk"], "sk": (new or old or {})["sk"]},
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


def maximal_event(
    seed: int = 2026, max_bytes: int = MAX_EVENT_BYTES, shape: str = "orders"
) -> dict[str, Any]:
    """As many change records of items of ``shape`` as fit in one Firehose → Lambda request of
    ``max_bytes``."""
    image = _mixed_image if shape == MIX else SHAPES[shape]
    rng = random.Random(f"{seed}:{shape}")
    records: list[dict[str, Any]] = []
    size = len(json.dumps(firehose_event([])))
    while True:
        change = change_record(rng, len(records), table_name=shape, image=image)
        record = firehose_record(change, len(records))
        record_size = len(json.dumps(record)) + 2
        if size + record_size > max_bytes:
            return firehose_event(records)
        records.append(record)
        size += record_size
