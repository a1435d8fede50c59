"""Realistic demo data for dispute-risk: a synthetic (or real) area tree, disputes with Chinese
narratives, parties, and outcomes drawn from a documented escalation mechanism (README.md).

Entry point: ``training.demo.generate.generate_demo_data(out_dir, DemoConfig(...))``.
"""
