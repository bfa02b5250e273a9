"""The registration views in SQL: tables declared once (`schema`), the batch writes (`writes`),
the queries (`queries`), and the stores over them (`sqlite`, also in memory; `postgres`)."""
