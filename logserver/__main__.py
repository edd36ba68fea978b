from logserver.cli import main

main()
