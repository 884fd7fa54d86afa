"""τ²-bench airline tools, re-implemented over :class:`~sovereval.bench.tau2.db.DomainDB` with the
original's semantics as read from ``tau2/domains/airline/tools.py`` (names, parameters, checks, error
messages, prices, the fixed clock ``2024-05-15T15:00:00`` and new ids ``HATHAT``/``HATHAU``/``HATHAV``,
``certificate_3221322``...), including its quirks: cancelling does not release seats, changing flights
does not update seat counts, a one-stop search builds the next day as ``2024-05-{day + 1}`` (no zero
padding).  Ids of users, reservations and flights are matched up to case and accents, as upstream.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from sovereval.bench.tau2.db import DomainDB, Record
from sovereval.bench.tau2.toolkit import Toolkit, calculate, resolve_key, tool, with_defaults

FlightType = Literal["round_trip", "one_way"]
CabinClass = Literal["business", "economy", "basic_economy"]
Insurance = Literal["yes", "no"]

NOW = "2024-05-15T15:00:00"
NEW_RESERVATION_IDS = ("HATHAT", "HATHAU", "HATHAV")
NEW_PAYMENT_IDS = (3221322, 3221323, 3221324)
AIRPORTS = (("SFO", "San Francisco"), ("JFK", "New York"), ("LAX", "Los Angeles"), ("ORD", "Chicago"),
            ("DFW", "Dallas"), ("DEN", "Denver"), ("SEA", "Seattle"), ("ATL", "Atlanta"), ("MIA", "Miami"),
            ("BOS", "Boston"), ("PHX", "Phoenix"), ("IAH", "Houston"), ("LAS", "Las Vegas"), ("MCO", "Orlando"),
            ("EWR", "Newark"), ("CLT", "Charlotte"), ("MSP", "Minneapolis"), ("DTW", "Detroit"),
            ("PHL", "Philadelphia"), ("LGA", "LaGuardia"))


class FlightInfo(BaseModel):
    flight_number: str = Field(description="Flight number, such as 'HAT001'.")
    date: str = Field(description="The date for the flight in the format 'YYYY-MM-DD', such as '2024-05-01'.")


class Passenger(BaseModel):
    first_name: str = Field(description="Passenger's first name")
    last_name: str = Field(description="Passenger's last name")
    dob: str = Field(description="Date of birth in YYYY-MM-DD format")


class Payment(BaseModel):
    payment_id: str = Field(description="Unique identifier for the payment")
    amount: int = Field(description="Payment amount in dollars")


def _reservation(r: Record) -> Record:
    return with_defaults(r, {"status": None})


def _user(r: Record) -> Record:
    address = r.get("address")
    return r if not isinstance(address, dict) or "address2" in address else {**r, "address": {**address, "address2": None}}


def canonical(table: str, record: Record) -> Any:
    """τ²'s airline DB hash ignores the order of a reservation's passengers (duplicates kept)."""
    if table == "reservations":
        return {**record, "passengers": sorted(record["passengers"], key=lambda p: json.dumps(p, sort_keys=True))}
    return record


def airline_db(base: dict[str, Any]) -> DomainDB:
    return DomainDB(base, {"reservations": _reservation, "users": _user}, canonical)


def _as(model: type[BaseModel], items: list[Any]) -> list[dict[str, Any]]:
    return [model.model_validate(x).model_dump() for x in items]


class AirlineTools(Toolkit):
    domain = "airline"

    # -- lookups -----------------------------------------------------------------------------------
    def _user(self, user_id: str) -> Record:
        key = resolve_key(self.db.users, user_id)
        if key is None:
            raise ValueError(f"User {user_id} not found")
        return self.db.users.get(key)

    def _reservation(self, reservation_id: str) -> Record:
        key = resolve_key(self.db.reservations, reservation_id)
        if key is None:
            raise ValueError(f"Reservation {reservation_id} not found")
        return self.db.reservations.get(key)

    def _flight_key(self, flight_number: str) -> str:
        key = resolve_key(self.db.flights, flight_number)
        if key is None:
            raise ValueError(f"Flight {flight_number} not found")
        return key

    def _flight(self, flight_number: str, *, mutable: bool = False) -> Record:
        key = self._flight_key(flight_number)
        return self.db.flights.get(key) if mutable else self.db.flights.view(key)

    def _instance(self, flight: Record, flight_number: str, date: str) -> Record:
        if date not in flight["dates"]:
            raise ValueError(f"Flight {flight_number} not found on date {date}")
        return flight["dates"][date]  # type: ignore[no-any-return]

    def _search_direct(self, date: str, origin: str | None, destination: str | None,
                       leave_after: str | None = None) -> list[Record]:
        out = []
        for _, f in self.db.flights.scan():
            if ((origin is None or f["origin"] == origin) and (destination is None or f["destination"] == destination)
                    and date in f["dates"] and f["dates"][date]["status"] == "available"
                    and (leave_after is None or f["scheduled_departure_time_est"] >= leave_after)):
                inst = f["dates"][date]
                out.append({"flight_number": f["flight_number"], "origin": f["origin"],
                            "destination": f["destination"], "status": "available",
                            "scheduled_departure_time_est": f["scheduled_departure_time_est"],
                            "scheduled_arrival_time_est": f["scheduled_arrival_time_est"], "date": None,
                            "available_seats": dict(inst["available_seats"]), "prices": dict(inst["prices"])})
        return out

    def _payment_for_update(self, user: Record, payment_id: str, total_price: int) -> Record | None:
        if payment_id not in user["payment_methods"]:
            raise ValueError("Payment method not found")
        method = user["payment_methods"][payment_id]
        if method["source"] == "certificate":
            raise ValueError("Certificate cannot be used to update reservation")
        if method["source"] == "gift_card" and method["amount"] < total_price:
            raise ValueError("Gift card balance is not enough")
        if method["source"] == "gift_card":
            method["amount"] -= total_price
        return {"payment_id": payment_id, "amount": total_price} if total_price != 0 else None

    # -- tools -------------------------------------------------------------------------------------
    @tool("Book a reservation.", mutates=True,
          user_id=(str, "The ID of the user to book the reservation such as 'sara_doe_496'`."),
          origin=(str, "The IATA code for the origin city such as 'SFO'."),
          destination=(str, "The IATA code for the destination city such as 'JFK'."),
          flight_type=(FlightType, "The type of flight such as 'one_way' or 'round_trip'."),
          cabin=(CabinClass, "The cabin class such as 'basic_economy', 'economy', or 'business'."),
          flights=(list[FlightInfo | dict], "An array of objects containing details about each piece of flight."),
          passengers=(list[Passenger | dict], "An array of objects containing details about each passenger."),
          payment_methods=(list[Payment | dict],
                           "An array of objects containing details about each payment method."),
          total_baggages=(int, "The total number of baggage items to book the reservation."),
          nonfree_baggages=(int, "The number of non-free baggage items to book the reservation."),
          insurance=(Insurance, "Whether the reservation has insurance."))
    def book_reservation(self, user_id: str, origin: str, destination: str, flight_type: str, cabin: str,
                         flights: list[Any], passengers: list[Any], payment_methods: list[Any],
                         total_baggages: int, nonfree_baggages: int, insurance: str) -> Record:
        flights, passengers = _as(FlightInfo, flights), _as(Passenger, passengers)
        payment_methods = _as(Payment, payment_methods)
        user = self._user(user_id)
        user_id = user["user_id"]
        reservation_id = next((r for r in NEW_RESERVATION_IDS if r not in self.db.reservations), None)
        if reservation_id is None:
            raise ValueError("Too many reservations")
        reservation: Record = {
            "reservation_id": reservation_id, "user_id": user_id, "origin": origin, "destination": destination,
            "flight_type": flight_type, "cabin": cabin, "flights": [], "passengers": copy.deepcopy(passengers),
            "payment_history": copy.deepcopy(payment_methods), "created_at": NOW, "total_baggages": total_baggages,
            "nonfree_baggages": nonfree_baggages, "insurance": insurance, "status": None}
        total_price = 0
        instances = []
        for info in flights:
            flight = self._flight(info["flight_number"], mutable=True)
            number = flight["flight_number"]
            inst = self._instance(flight, number, info["date"])
            if inst["status"] != "available":
                raise ValueError(f"Flight {number} not available on date {info['date']}")
            if inst["available_seats"][cabin] < len(passengers):
                raise ValueError(f"Not enough seats on flight {number}")
            price = inst["prices"][cabin]
            reservation["flights"].append({"flight_number": number, "origin": flight["origin"],
                                           "destination": flight["destination"], "date": info["date"], "price": price})
            instances.append(inst)
            total_price += price * len(passengers)
        if insurance == "yes":
            total_price += 30 * len(passengers)
        total_price += 50 * nonfree_baggages
        for pm in payment_methods:
            pid = pm["payment_id"]
            if pid not in user["payment_methods"]:
                raise ValueError(f"Payment method {pid} not found")
            method = user["payment_methods"][pid]
            if method["source"] in ("gift_card", "certificate") and method["amount"] < pm["amount"]:
                raise ValueError(f"Not enough balance in payment method {pid}")
        total_payment = sum(pm["amount"] for pm in payment_methods)
        if total_payment != total_price:
            raise ValueError(f"Payment amount does not add up, total price is {total_price}, but paid {total_payment}")
        for pm in payment_methods:
            method = user["payment_methods"][pm["payment_id"]]
            if method["source"] == "gift_card":
                method["amount"] -= pm["amount"]
            elif method["source"] == "certificate":
                user["payment_methods"].pop(pm["payment_id"])
        for inst in instances:
            inst["available_seats"][cabin] -= len(passengers)
        self.db.reservations.put(reservation_id, reservation)
        user["reservations"].append(reservation_id)
        return reservation

    @tool("Calculate the result of a mathematical expression.",
          expression=(str, ("The mathematical expression to calculate, such as '2 + 2'. The expression can contain "
                            "numbers, operators (+, -, *, /), parentheses, and spaces.")))
    def calculate(self, expression: str) -> str:
        return calculate(expression)

    @tool("Cancel the whole reservation.", mutates=True,
          reservation_id=(str, "The reservation ID, such as 'ZFA04Y'."))
    def cancel_reservation(self, reservation_id: str) -> Record:
        reservation = self._reservation(reservation_id)
        refunds = [{"payment_id": p["payment_id"], "amount": -p["amount"]} for p in reservation["payment_history"]]
        reservation["payment_history"].extend(refunds)
        reservation["status"] = "cancelled"
        return reservation  # seats are not released (as upstream)

    @tool("Get the details of a reservation.", reservation_id=(str, "The reservation ID, such as '8JX2WO'."))
    def get_reservation_details(self, reservation_id: str) -> Record:
        return self._reservation(reservation_id)

    @tool("Get the details of a user, including their reservations.",
          user_id=(str, "The user ID, such as 'sara_doe_496'."))
    def get_user_details(self, user_id: str) -> Record:
        return self._user(user_id)

    @tool("Returns a list of all available airports.")
    def list_all_airports(self) -> list[Record]:
        return [{"iata": code, "city": city} for code, city in AIRPORTS]

    @tool("Search for direct flights between two cities on a specific date.",
          origin=(str, "The origin city airport in three letters, such as 'JFK'."),
          destination=(str, "The destination city airport in three letters, such as 'LAX'."),
          date=(str, "The date of the flight in the format 'YYYY-MM-DD', such as '2024-01-01'."))
    def search_direct_flight(self, origin: str, destination: str, date: str) -> list[Record]:
        return self._search_direct(date, origin, destination)

    @tool("Search for one-stop flights between two cities on a specific date.",
          origin=(str, "The origin city airport in three letters, such as 'JFK'."),
          destination=(str, "The destination city airport in three letters, such as 'LAX'."),
          date=(str, "The date of the flight in the format 'YYYY-MM-DD', such as '2024-05-01'."))
    def search_onestop_flight(self, origin: str, destination: str, date: str) -> list[list[Record]]:
        out = []
        for first in self._search_direct(date, origin, None):
            first["date"] = date
            date2 = f"2024-05-{int(date[-2:]) + 1}" if "+1" in first["scheduled_arrival_time_est"] else date
            for second in self._search_direct(date2, first["destination"], destination,
                                              leave_after=first["scheduled_arrival_time_est"]):
                second["date"] = date2
                out.append([first, second])
        return out

    @tool("Send a certificate to a user. Be careful!", mutates=True,
          user_id=(str, "The ID of the user to book the reservation, such as 'sara_doe_496'."),
          amount=(int, "The amount of the certificate to send."))
    def send_certificate(self, user_id: str, amount: int) -> str:
        user = self._user(user_id)
        for n in NEW_PAYMENT_IDS:
            pid = f"certificate_{n}"
            if pid not in user["payment_methods"]:
                user["payment_methods"][pid] = {"source": "certificate", "id": pid, "amount": float(amount)}
                return f"Certificate {pid} added to user {user_id} with amount {amount}."
        raise ValueError("Too many certificates")

    @tool("Transfer the user to a human agent, with a summary of the user's issue.\n\nOnly transfer if\n -  the user "
          "explicitly asks for a human agent\n -  given the policy and the available tools, you cannot solve the "
          "user's issue.", summary=(str, "A summary of the user's issue."))
    def transfer_to_human_agents(self, summary: str) -> str:
        return "Transfer successful"

    @tool("Update the baggage information of a reservation.", mutates=True,
          reservation_id=(str, "The reservation ID, such as 'ZFA04Y'"),
          total_baggages=(int, "The updated total number of baggage items included in the reservation."),
          nonfree_baggages=(int, "The updated number of non-free baggage items included in the reservation."),
          payment_id=(str, ("The payment id stored in user profile, such as 'credit_card_7815826', "
                            "'gift_card_7815826', 'certificate_7815826'.")))
    def update_reservation_baggages(self, reservation_id: str, total_baggages: int, nonfree_baggages: int,
                                    payment_id: str) -> Record:
        reservation = self._reservation(reservation_id)
        user = self._user(reservation["user_id"])
        total_price = 50 * max(0, nonfree_baggages - reservation["nonfree_baggages"])
        payment = self._payment_for_update(user, payment_id, total_price)
        if payment is not None:
            reservation["payment_history"].append(payment)
        reservation["total_baggages"] = total_baggages
        reservation["nonfree_baggages"] = nonfree_baggages
        return reservation

    @tool("Update the flight information of a reservation.", mutates=True,
          reservation_id=(str, "The reservation ID, such as 'ZFA04Y'."),
          cabin=(CabinClass, "The cabin class of the reservation"),
          flights=(list[FlightInfo | dict], ("An array of objects containing details about each piece of flight in the "
                                             "ENTIRE new reservation. Even if the a flight segment is not changed, it "
                                             "should still be included in the array.")),
          payment_id=(str, ("The payment id stored in user profile, such as 'credit_card_7815826', "
                            "'gift_card_7815826', 'certificate_7815826'.")))
    def update_reservation_flights(self, reservation_id: str, cabin: str, flights: list[Any],
                                   payment_id: str) -> Record:
        flights = _as(FlightInfo, flights)
        reservation = self._reservation(reservation_id)
        user = self._user(reservation["user_id"])
        n = len(reservation["passengers"])
        total_price = 0
        new_flights = []
        for info in flights:
            flight = self._flight(info["flight_number"])
            number = flight["flight_number"]
            same = next((rf for rf in reservation["flights"] if rf["flight_number"] == number
                         and rf["date"] == info["date"] and cabin == reservation["cabin"]), None)
            if same is not None:
                total_price += same["price"] * n
                new_flights.append(same)
                continue
            inst = self._instance(flight, number, info["date"])
            if inst["status"] != "available":
                raise ValueError(f"Flight {number} not available on date {info['date']}")
            if inst["available_seats"][cabin] < n:
                raise ValueError(f"Not enough seats on flight {number}")
            entry = {"flight_number": number, "date": info["date"], "price": inst["prices"][cabin],
                     "origin": flight["origin"], "destination": flight["destination"]}
            total_price += entry["price"] * n
            new_flights.append(entry)
        total_price -= sum(f["price"] for f in reservation["flights"]) * n
        payment = self._payment_for_update(user, payment_id, total_price)
        if payment is not None:
            reservation["payment_history"].append(payment)
        reservation["flights"] = new_flights
        reservation["cabin"] = cabin
        return reservation  # seat counts are not updated (as upstream)

    @tool("Update the passenger information of a reservation.", mutates=True,
          reservation_id=(str, "The reservation ID, such as 'ZFA04Y'."),
          passengers=(list[Passenger | dict], "An array of objects containing details about each passenger."))
    def update_reservation_passengers(self, reservation_id: str, passengers: list[Any]) -> Record:
        passengers = _as(Passenger, passengers)
        reservation = self._reservation(reservation_id)
        if len(passengers) != len(reservation["passengers"]):
            raise ValueError("Number of passengers does not match")
        reservation["passengers"] = copy.deepcopy(passengers)
        return reservation

    @tool("Get the status of a flight.", flight_number=(str, "The flight number."),
          date=(str, "The date of the flight."))
    def get_flight_status(self, flight_number: str, date: str) -> str:
        flight = self._flight(flight_number)
        return str(self._instance(flight, flight_number, date)["status"])
