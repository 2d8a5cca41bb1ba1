"""FHIR R4 export of one client's record: `GET /fhir/r4/Patient/<id>/$everything`."""
