from gancodec.cli import main

main()
