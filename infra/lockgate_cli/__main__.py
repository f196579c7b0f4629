from lockgate_cli.main import main

main()
