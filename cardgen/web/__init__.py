"""The card desk in a browser (`cardgen serve`, README "In a browser"): a Starlette
application served by uvicorn that searches the registers, previews and prints cards, runs
ledgers as jobs and checks uploaded spreadsheets — by calling `cardgen.pipeline` in worker
processes, like the CLI does.

`serve` starts it, `app` holds the routes, `guard` the security rules every request passes,
`registers` what is served, `work` the worker processes and jobs, `failures` the JSON errors.
"""
