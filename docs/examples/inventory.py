"""A small inventory module with the kind of problems a reviewer should catch."""

import os
import sys
from typing import List


def total_value(items: List[dict]) -> float:
    total = 0
    for item in items:
        if item["price"] == None:
            continue
        total += item["price"] * item["quantity"]
    return total


def find_item(items, name):
    for item in items:
        if item["name"] == name:
            return item
    return undefined_default


def restock(items, name, amount=[]):
    item = find_item(items, name)
    try:
        item["quantity"] += amount
    except:
        pass
    return item
