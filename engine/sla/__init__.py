"""Time limits: which limit applies (policy) and working time (workcal: office hours, off days,
holidays).
"""
