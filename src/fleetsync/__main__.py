from fleetsync.cli import main

main()
