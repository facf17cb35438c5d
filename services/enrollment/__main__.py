from services.enrollment.app import main

main()
