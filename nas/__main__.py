from nas.cli import app

app(prog_name="nas")
